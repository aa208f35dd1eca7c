using System.Text;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class IntakeFormTests
{
    [Theory]
    [InlineData("group", IntakeItemType.Group)]
    [InlineData("display", IntakeItemType.Display)]
    [InlineData("boolean", IntakeItemType.Boolean)]
    [InlineData("decimal", IntakeItemType.Decimal)]
    [InlineData("integer", IntakeItemType.Integer)]
    [InlineData("date", IntakeItemType.Date)]
    [InlineData("dateTime", IntakeItemType.DateTime)]
    [InlineData("time", IntakeItemType.Time)]
    [InlineData("string", IntakeItemType.String)]
    [InlineData("text", IntakeItemType.Text)]
    [InlineData("url", IntakeItemType.Url)]
    [InlineData("choice", IntakeItemType.Choice)]
    [InlineData("open-choice", IntakeItemType.OpenChoice)]
    [InlineData("attachment", IntakeItemType.Attachment)]
    [InlineData("reference", IntakeItemType.Reference)]
    [InlineData("quantity", IntakeItemType.Quantity)]
    public void Loads_every_r4_item_type(string fhirType, IntakeItemType expected)
    {
        IntakeForm form = Load(Item("q", fhirType));

        IntakeItem item = form.GetItem("q");
        Assert.Equal(expected, item.Type);
        Assert.Equal("Question q", item.Text);
        Assert.Equal(expected is not (IntakeItemType.Group or IntakeItemType.Display), item.IsQuestion);
    }

    [Fact]
    public void Loads_form_metadata_and_canonical_with_version()
    {
        IntakeForm form = Load(Item("q", "string"));

        Assert.Equal("intake", form.Id);
        Assert.Equal(Url, form.Url);
        Assert.Equal("2", form.Version);
        Assert.Equal("Intake", form.Name);
        Assert.Equal("Test intake", form.Title);
        Assert.Equal("active", form.Status);
        Assert.Equal(Url + "|2", form.Canonical);
    }

    [Fact]
    public void Canonical_is_the_url_alone_without_a_version()
    {
        IntakeForm form = IntakeForm.Parse("""{ "resourceType": "Questionnaire", "url": "http://x.org/q", "status": "draft" }""");

        Assert.Equal("http://x.org/q", form.Canonical);
        Assert.Empty(form.Items);
    }

    [Fact]
    public void Loads_item_properties_codes_definition_and_extensions()
    {
        IntakeForm form = Load(
            Item("age", "integer", """
                "prefix": "1.", "required": true, "repeats": false, "readOnly": true,
                "definition": "http://hl7.org/fhir/StructureDefinition/Patient#Patient.birthDate",
                "code": [{ "system": "http://loinc.org", "code": "30525-0", "display": "Age" }, { "display": "no code: skipped" }],
                "initial": [{ "valueInteger": 30 }],
                "extension": [
                  { "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0 },
                  { "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 130 },
                  { "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden", "valueBoolean": true },
                  { "url": "http://example.org/unknown", "valueString": "ignored" }
                ],
                "modifierExtension": [], "unknownProperty": { "nested": 1 }
                """),
            Item("notes", "text", "\"maxLength\": 200, \"repeats\": true"));

        IntakeItem age = form.GetItem("age");
        Assert.Equal("1.", age.Prefix);
        Assert.True(age.Required);
        Assert.False(age.Repeats);
        Assert.True(age.ReadOnly);
        Assert.True(age.Hidden);
        Assert.Equal("http://hl7.org/fhir/StructureDefinition/Patient#Patient.birthDate", age.Definition);
        Assert.Equal(new Coding("http://loinc.org", "30525-0", "Age"), Assert.Single(age.Codes));
        Assert.Equal(new IntegerAnswer(30), Assert.Single(age.Initial));
        Assert.Equal(new IntegerAnswer(0), age.MinValue);
        Assert.Equal(new IntegerAnswer(130), age.MaxValue);
        Assert.Null(age.MaxLength);

        IntakeItem notes = form.GetItem("notes");
        Assert.Equal(200, notes.MaxLength);
        Assert.True(notes.Repeats);
        Assert.False(notes.Hidden);
    }

    [Fact]
    public void Loads_answer_options_of_every_value_kind_with_initial_selection_and_ordinal_values()
    {
        IntakeForm form = Load(
            Item("coded", "choice", """
                "answerOption": [
                  { "valueCoding": { "system": "http://s", "code": "a", "display": "A" },
                    "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 1.5 }] },
                  { "valueCoding": { "system": "http://s", "code": "b" }, "initialSelected": true,
                    "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 4 }] }
                ]
                """),
            Item("strings", "open-choice", """ "answerOption": [{ "valueString": "red" }, { "valueString": "blue" }] """),
            Item("ints", "choice", """ "answerOption": [{ "valueInteger": 1 }, { "valueInteger": 2 }] """),
            Item("dates", "choice", """ "answerOption": [{ "valueDate": "2026-01-02" }] """),
            Item("times", "choice", """ "answerOption": [{ "valueTime": "08:30:00" }] """),
            Item("refs", "choice", """ "answerOption": [{ "valueReference": { "reference": "Practitioner/1" } }] """));

        IntakeItem coded = form.GetItem("coded");
        Assert.Equal(2, coded.AnswerOptions.Count);
        Assert.Equal(new CodingAnswer(new Coding("http://s", "a", "A")), coded.AnswerOptions[0].Value);
        Assert.False(coded.AnswerOptions[0].InitialSelected);
        Assert.Equal(1.5m, coded.AnswerOptions[0].OrdinalValue);
        Assert.True(coded.AnswerOptions[1].InitialSelected);
        Assert.Equal(4m, coded.GetOrdinalValue(new Coding("http://s", "b")));
        Assert.Equal(4m, coded.GetOrdinalValue(new Coding(null, "b")));
        Assert.Null(coded.GetOrdinalValue(new Coding("http://s", "zzz")));

        Assert.Equal([new StringAnswer("red"), new StringAnswer("blue")], form.GetItem("strings").AnswerOptions.Select(o => o.Value));
        Assert.Equal(new IntegerAnswer(2), form.GetItem("ints").AnswerOptions[1].Value);
        Assert.Equal(new DateAnswer(new DateOnly(2026, 1, 2)), form.GetItem("dates").AnswerOptions[0].Value);
        Assert.Equal(new TimeAnswer(new TimeOnly(8, 30)), form.GetItem("times").AnswerOptions[0].Value);
        Assert.Equal(new ReferenceAnswer("Practitioner/1"), form.GetItem("refs").AnswerOptions[0].Value);
    }

    [Fact]
    public void Expands_a_contained_value_set_into_options_with_system_and_ordinal_values()
    {
        string json = """
            {
              "resourceType": "Questionnaire", "url": "http://x.org/q", "status": "active",
              "contained": [{
                "resourceType": "ValueSet", "id": "vs", "status": "active",
                "compose": { "include": [
                  { "system": "http://s1", "concept": [
                    { "code": "no", "display": "No", "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0 }] },
                    { "code": "yes", "display": "Yes", "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 1 }] } ] },
                  { "system": "http://s2", "concept": [ { "code": "maybe" } ] }
                ] }
              }],
              "item": [
                { "linkId": "q", "type": "choice", "answerValueSet": "#vs" },
                { "linkId": "external", "type": "choice", "answerValueSet": "http://loinc.org/vs/LL358-3" }
              ]
            }
            """;

        IntakeForm form = IntakeForm.Parse(json);

        IntakeItem q = form.GetItem("q");
        Assert.Equal("#vs", q.AnswerValueSet);
        Assert.Equal(
            [new Coding("http://s1", "no", "No"), new Coding("http://s1", "yes", "Yes"), new Coding("http://s2", "maybe")],
            q.AnswerOptions.Select(o => ((CodingAnswer)o.Value).Value));
        Assert.Equal([0m, 1m, null], q.AnswerOptions.Select(o => o.OrdinalValue));

        IntakeItem external = form.GetItem("external");
        Assert.Equal("http://loinc.org/vs/LL358-3", external.AnswerValueSet);
        Assert.Empty(external.AnswerOptions);
    }

    [Fact]
    public void Loads_nested_items_enable_when_across_groups_and_enable_behavior()
    {
        IntakeForm form = Load(
            Group("history", "", Item("smoker", "boolean"), Item("packs", "integer")),
            Group("plan", "", Item("quit", "boolean", $$"""
                "enableWhen": [
                  {{EnableWhen("smoker", "=", "\"answerBoolean\": true")}},
                  {{EnableWhen("packs", ">=", "\"answerInteger\": 1")}}
                ],
                "enableBehavior": "any"
                """), Item("followup", "string", $$""" "enableWhen": [{{EnableWhen("quit", "exists", "\"answerBoolean\": true")}}] """)));

        IntakeItem quit = form.GetItem("quit");
        Assert.Same(form.GetItem("plan"), quit.Parent);
        Assert.Null(form.GetItem("plan").Parent);
        Assert.Equal(EnableBehavior.Any, quit.EnableBehavior);
        Assert.Equal(
            [new EnableWhenCondition("smoker", EnableWhenOperator.Equal, new BooleanAnswer(true)), new EnableWhenCondition("packs", EnableWhenOperator.GreaterOrEqual, new IntegerAnswer(1))],
            quit.EnableWhen);
        Assert.Equal(EnableBehavior.All, form.GetItem("followup").EnableBehavior);
        Assert.Equal(["history", "smoker", "packs", "plan", "quit", "followup"], form.AllItems.Select(i => i.LinkId));
        Assert.Equal(["history", "plan"], form.Items.Select(i => i.LinkId));
    }

    [Fact]
    public void FindItem_returns_null_and_GetItem_throws_for_an_unknown_linkId()
    {
        IntakeForm form = Load(Item("q", "string"));

        Assert.Null(form.FindItem("missing"));
        var ex = Assert.Throws<ArgumentException>(() => form.GetItem("missing"));
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parses_utf8_bytes_and_streams_to_the_same_form()
    {
        string json = Questionnaire(Item("q", "string"), Item("r", "integer"));

        IntakeForm fromBytes = IntakeForm.Parse(Encoding.UTF8.GetBytes(json));
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        IntakeForm fromStream = await IntakeForm.LoadAsync(stream, CancellationToken.None);

        Assert.Equal(["q", "r"], fromBytes.AllItems.Select(i => i.LinkId));
        Assert.Equal(["q", "r"], fromStream.AllItems.Select(i => i.LinkId));
    }

    [Fact]
    public async Task LoadAsync_honours_cancellation()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(Questionnaire(Item("q", "string"))));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IntakeForm.LoadAsync(stream, cts.Token));
    }

    public static TheoryData<string, string, string> InvalidForms => new()
    {
        { "malformed JSON", """{ "resourceType": "Questionnaire", """, "not well-formed JSON" },
        { "not an object", "[]", "not a JSON object" },
        { "another resource", """{ "resourceType": "Patient" }""", "not a Questionnaire" },
        { "duplicate linkId", Questionnaire(Item("q", "string"), Group("g", "", Item("q", "integer"))), "linkId 'q'" },
        { "missing linkId", Questionnaire("""{ "type": "string" }"""), "item[0]" },
        { "unknown type", Questionnaire(Item("q", "question")), "'question'" },
        { "enableWhen on missing item", Questionnaire(Item("q", "string", $$""" "enableWhen": [{{EnableWhen("nope", "exists", "\"answerBoolean\": true")}}] """)), "'nope'" },
        { "enableWhen on a group", Questionnaire(Group("g", "", Item("a", "string")), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("g", "exists", "\"answerBoolean\": true")}}] """)), "'g'" },
        { "enableWhen answer of the wrong type", Questionnaire(Item("a", "boolean"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", "=", "\"answerInteger\": 1")}}] """)), "'a'" },
        { "ordering a boolean", Questionnaire(Item("a", "boolean"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", ">", "\"answerBoolean\": true")}}] """)), "'a'" },
        { "ordering a coding", Questionnaire(Item("a", "choice"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", "<", "\"answerCoding\": { \"code\": \"x\" }")}}] """)), "'a'" },
        { "exists without boolean", Questionnaire(Item("a", "string"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", "exists", "\"answerString\": \"x\"")}}] """)), "answerBoolean" },
        { "unknown operator", Questionnaire(Item("a", "string"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", "~", "\"answerString\": \"x\"")}}] """)), "'~'" },
        { "several conditions without enableBehavior", Questionnaire(Item("a", "boolean"), Item("q", "string", $$""" "enableWhen": [{{EnableWhen("a", "exists", "\"answerBoolean\": true")}}, {{EnableWhen("a", "=", "\"answerBoolean\": true")}}] """)), "enableBehavior" },
        { "enableWhen cycle", Questionnaire(Item("a", "boolean", $$""" "enableWhen": [{{EnableWhen("b", "exists", "\"answerBoolean\": true")}}] """), Item("b", "boolean", $$""" "enableWhen": [{{EnableWhen("a", "exists", "\"answerBoolean\": true")}}] """)), "cycle" },
        { "answerOption on a string item", Questionnaire(Item("q", "string", """ "answerOption": [{ "valueString": "x" }] """)), "'q'" },
        { "answerOption of the wrong kind", Questionnaire(Item("q", "choice", """ "answerOption": [{ "valueBoolean": true }] """)), "answerOption" },
        { "answerOption and answerValueSet", Questionnaire(Item("q", "choice", """ "answerValueSet": "http://vs", "answerOption": [{ "valueString": "x" }] """)), "both" },
        { "missing contained value set", Questionnaire(Item("q", "choice", """ "answerValueSet": "#nope" """)), "#nope" },
        { "initial of the wrong kind", Questionnaire(Item("q", "integer", """ "initial": [{ "valueString": "x" }] """)), "initial" },
        { "several initial values without repeats", Questionnaire(Item("q", "integer", """ "initial": [{ "valueInteger": 1 }, { "valueInteger": 2 }] """)), "initial" },
        { "minValue on a string", Questionnaire(Item("q", "string", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 1 }] """)), "minValue" },
        { "unitOption on an integer", Questionnaire(Item("q", "integer", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption", "valueCoding": { "code": "kg" } }] """)), "unitOption" },
        { "required display", Questionnaire(Item("q", "display", "\"required\": true")), "display" },
        { "required not a boolean", Questionnaire(Item("q", "string", "\"required\": \"yes\"")), "required" },
        { "maxLength not positive", Questionnaire(Item("q", "string", "\"maxLength\": 0")), "maxLength" },
    };

    [Theory]
    [MemberData(nameof(InvalidForms))]
    public void Rejects_forms_it_cannot_interpret_with_InvalidFormat_naming_the_place(string because, string json, string expectedInMessage)
    {
        var ex = Assert.Throws<TelehealthException>(() => IntakeForm.Parse(json));

        Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
        Assert.True(ex.Message.Contains(expectedInMessage, StringComparison.Ordinal), $"{because}: {ex.Message}");
    }

    [Fact]
    public async Task Rejects_malformed_utf8_and_stream_input_with_InvalidFormat()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("{ \"resourceType\": ");
        Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.Throws<TelehealthException>(() => IntakeForm.Parse(bytes)).ErrorCode);
        byte[] trailing = Encoding.UTF8.GetBytes("{ \"resourceType\": \"Questionnaire\" } trailing");
        Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.Throws<TelehealthException>(() => IntakeForm.Parse(trailing)).ErrorCode);
        using var stream = new MemoryStream(bytes);
        var ex = await Assert.ThrowsAsync<TelehealthException>(() => IntakeForm.LoadAsync(stream));
        Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
    }

    [SkippableFact]
    public void Loads_the_sdc_phq9_questionnaire_with_its_contained_value_set_scores()
    {
        IntakeForm form = IntakeForm.Parse(SharedFiles.ReadText("fhir/sdc-phq9-questionnaire.json"));

        Assert.Equal("http://hl7.org/fhir/uv/sdc/Questionnaire/questionnaire-sdc-profile-example-PHQ9|0.0.1", form.Canonical);
        IntakeItem q9 = form.GetItem("H1/T1/Q9");
        Assert.Equal(IntakeItemType.Choice, q9.Type);
        Assert.Equal("H1/T1", q9.Parent!.LinkId);
        Assert.Equal(4, q9.AnswerOptions.Count);
        Assert.Equal(
            new decimal?[] { 0m, 1m, 2m, 3m },
            new[] { "Not-at-all", "Several-days", "More than half the days", "Nearly every day" }
                .Select(code => q9.GetOrdinalValue(new Coding("http://hl7.org/fhir/uv/sdc/CodeSystem/CSPHQ9", code))));
        Assert.Equal(IntakeItemType.Quantity, form.GetItem("H1/TS").Type);
        Assert.Equal("44261-6", Assert.Single(form.GetItem("H1/TS").Codes).Code);
    }
}
