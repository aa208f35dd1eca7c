using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class QuestionnaireResponseTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 26, 4, 30, 15, TimeSpan.Zero));

    private static IntakeForm RichForm() => Load(
        Item("intro", "display"),
        Group("about", "", Item("birthDate", "date"), Item("height", "decimal"), Item("children", "integer"), Item("homepage", "url")),
        Group("visit", "",
            Item("when", "dateTime"),
            Item("usualWake", "time"),
            Item("smoker", "boolean", """ "item": [{ "linkId": "since", "text": "Since when?", "type": "integer" }] """),
            Item("reason", "text"),
            Item("nickname", "string"),
            Item("contact", "choice", """ "answerOption": [{ "valueCoding": { "system": "http://example.org/contact", "code": "sms", "display": "SMS" } }] """),
            Item("feeling", "open-choice", """ "answerOption": [{ "valueCoding": { "system": "http://example.org/feel", "code": "ok" } }], "repeats": true """),
            Item("photo", "attachment"),
            Item("gp", "reference"),
            Item("weight", "quantity")),
        Group("medications", "\"repeats\": true", Item("name", "string"), Item("dose", "quantity")),
        Item("unanswered", "string"));

    private static IntakeSubmission RichSubmission()
    {
        IntakeForm form = RichForm();
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetDate("birthDate", new DateOnly(1990, 2, 3));
        answers.SetDecimal("height", 1.80m);
        answers.SetInteger("children", 2);
        answers.SetUri("homepage", new Uri("https://example.org/me"));
        answers.SetDateTime("when", new DateTimeOffset(2026, 11, 26, 9, 30, 0, TimeSpan.FromHours(13)));
        answers.SetTime("usualWake", new TimeOnly(6, 45));
        answers.SetBoolean("smoker", true);
        answers.SetInteger("since", 2001);
        answers.SetString("reason", "Line one\nline two");
        answers.SetString("nickname", "Sam");
        answers.SetChoice("contact", "sms");
        answers.Add("feeling", new CodingAnswer(new Coding("http://example.org/feel", "ok")));
        answers.Add("feeling", new StringAnswer("tired"));
        answers.SetAttachment("photo", new AttachmentReference(new Uri("https://files.example.org/p/1"), "image/jpeg", 2048, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "rash"));
        answers.SetReference("gp", "Practitioner/42");
        answers.SetQuantity("weight", new Quantity(72.5m, "kg", "http://unitsofmeasure.org", "kg"));
        IntakeGroupAnswers first = answers.AddGroup("medications");
        first.SetString("name", "ibuprofen");
        first.SetQuantity("dose", new Quantity(200m, "mg", "http://unitsofmeasure.org", "mg"));
        answers.AddGroup("medications").SetString("name", "paracetamol");
        answers.AddGroup("medications"); // left empty: not exported
        return IntakeSubmission.Create(answers, new UserId("patient-7"), Clock, new IntakeSubmissionId("intake-1"));
    }

    [Fact]
    public void Exports_a_valid_questionnaire_response_nested_exactly_as_the_form()
    {
        string json = FhirExport.ToQuestionnaireResponse(RichSubmission());

        fhir.AssertValid(json);
        JsonNode root = JsonNode.Parse(json)!;
        Assert.Equal("QuestionnaireResponse", (string?)root["resourceType"]);
        Assert.Equal("intake-1", (string?)root["id"]);
        Assert.Equal(Url + "|2", (string?)root["questionnaire"]);
        Assert.Equal("completed", (string?)root["status"]);
        Assert.Equal("Patient/patient-7", (string?)root["subject"]!["reference"]);
        Assert.Equal("Patient/patient-7", (string?)root["author"]!["reference"]);
        Assert.Equal("2026-11-26T04:30:15Z", (string?)root["authored"]);

        Assert.Equal(["about", "visit", "medications", "medications"], Items(root).Select(LinkId));
        JsonNode about = Items(root)[0];
        Assert.Equal("Group about", (string?)about["text"]);
        Assert.Equal(["birthDate", "height", "children", "homepage"], Items(about).Select(LinkId));
        Assert.Equal("1990-02-03", (string?)Answer(Items(about)[0])["valueDate"]);
        Assert.Equal("1.80", Answer(Items(about)[1])["valueDecimal"]!.ToJsonString());
        Assert.Equal(2, (int?)Answer(Items(about)[2])["valueInteger"]);
        Assert.Equal("https://example.org/me", (string?)Answer(Items(about)[3])["valueUri"]);

        JsonNode visit = Items(root)[1];
        JsonNode smoker = Items(visit).Single(i => LinkId(i) == "smoker");
        Assert.Equal(true, (bool?)Answer(smoker)["valueBoolean"]);
        JsonNode since = Items(Answer(smoker)).Single();
        Assert.Equal(("since", 2001), (LinkId(since), (int?)Answer(since)["valueInteger"]));
        Assert.Equal("2026-11-26T09:30:00+13:00", (string?)Answer(Items(visit)[0])["valueDateTime"]);
        Assert.Equal("06:45:00", (string?)Answer(Items(visit)[1])["valueTime"]);
        JsonNode feeling = Items(visit).Single(i => LinkId(i) == "feeling");
        Assert.Equal("ok", (string?)feeling["answer"]![0]!["valueCoding"]!["code"]);
        Assert.Equal("tired", (string?)feeling["answer"]![1]!["valueString"]);
        JsonNode photo = Answer(Items(visit).Single(i => LinkId(i) == "photo"))["valueAttachment"]!;
        Assert.Equal(("https://files.example.org/p/1", "image/jpeg", 2048L), ((string?)photo["url"], (string?)photo["contentType"], (long?)photo["size"]));
        Assert.Null(photo["data"]);
        Assert.Equal("Practitioner/42", (string?)Answer(Items(visit).Single(i => LinkId(i) == "gp"))["valueReference"]!["reference"]);
        Assert.Equal(72.5m, (decimal?)Answer(Items(visit).Single(i => LinkId(i) == "weight"))["valueQuantity"]!["value"]);

        Assert.Equal(["name", "dose"], Items(Items(root)[2]).Select(LinkId));
        Assert.Equal(["name"], Items(Items(root)[3]).Select(LinkId));
        Assert.DoesNotContain("intro", json, StringComparison.Ordinal);
        Assert.DoesNotContain("unanswered", json, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exported_response_imports_to_the_same_answers_and_re_exports_identically()
    {
        IntakeSubmission original = RichSubmission();
        string json = FhirExport.ToQuestionnaireResponse(original);

        IntakeSubmission imported = FhirImport.FromQuestionnaireResponse(json, original.Form);

        Assert.Equal(original.Id, imported.Id);
        Assert.Equal(original.Authored, imported.Authored);
        Assert.Equal(original.Subject, imported.Subject);
        Assert.Equal(original.Author, imported.Author);
        Assert.Equal(2001, imported.Answers.GetInteger("since"));
        Assert.Equal(original.Answers.GetAnswers("feeling"), imported.Answers.GetAnswers("feeling"));
        Assert.Equal(
            original.Answers.GetGroupInstances("medications").Select(g => g.GetQuantity("dose")),
            imported.Answers.GetGroupInstances("medications").Select(g => g.GetQuantity("dose")));
        Assert.Equal(json, FhirExport.ToQuestionnaireResponse(imported));
    }

    [Fact]
    public void Imports_subject_and_author_verbatim_and_keeps_amended_status()
    {
        IntakeForm form = Load(Item("q", "string"));
        string json = $$"""
            { "resourceType": "QuestionnaireResponse", "id": "r1", "questionnaire": "{{Url}}", "status": "amended",
              "subject": { "reference": "https://fhir.example.org/Patient/abc" }, "author": { "reference": "RelatedPerson/mum" },
              "authored": "2026-01-02T03:04:05+10:00", "item": [{ "linkId": "q", "answer": [{ "valueString": "x" }] }] }
            """;

        IntakeSubmission submission = FhirImport.FromQuestionnaireResponse(json, form);

        Assert.Equal("https://fhir.example.org/Patient/abc", submission.Subject);
        Assert.Equal("RelatedPerson/mum", submission.Author);
        Assert.Equal(IntakeSubmissionStatus.Amended, submission.Status);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(10)), submission.Authored);
        string reexported = FhirExport.ToQuestionnaireResponse(submission);
        fhir.AssertValid(reexported);
        Assert.Contains("\"status\":\"amended\"", reexported, StringComparison.Ordinal);
    }

    [Fact]
    public void Import_lists_every_problem_of_a_response_that_does_not_fit_the_form()
    {
        IntakeForm form = Load(
            Group("g", "", Item("inner", "string")),
            Item("age", "integer", "\"required\": true"),
            Item("colour", "choice", """ "answerOption": [{ "valueCoding": { "system": "http://s", "code": "red" } }] """),
            Item("once", "string"));
        string json = """
            { "resourceType": "QuestionnaireResponse", "id": "r1", "questionnaire": "http://other.org/Questionnaire/x", "status": "completed",
              "authored": "2026-01-02T03:04:05Z",
              "item": [
                { "linkId": "inner", "answer": [{ "valueString": "misplaced" }] },
                { "linkId": "ghost", "answer": [{ "valueString": "unknown" }] },
                { "linkId": "age", "answer": [{ "valueString": "forty" }] },
                { "linkId": "colour", "answer": [{ "valueCoding": { "system": "http://s", "code": "blue" } }] },
                { "linkId": "once", "answer": [{ "valueString": "a" }] },
                { "linkId": "once", "answer": [{ "valueString": "b" }] },
                { "linkId": "g", "answer": [{ "valueString": "groups take none" }] }
              ] }
            """;

        var ex = Assert.Throws<IntakeValidationException>(() => FhirImport.FromQuestionnaireResponse(json, form));

        Assert.Equal(
            [
                ("questionnaire", IntakeProblemCode.QuestionnaireMismatch),
                ("inner", IntakeProblemCode.InvalidNesting),
                ("ghost", IntakeProblemCode.UnknownItem),
                ("age", IntakeProblemCode.WrongType),
                ("once", IntakeProblemCode.TooManyAnswers),
                ("g", IntakeProblemCode.WrongType),
                ("age", IntakeProblemCode.Required),
                ("colour", IntakeProblemCode.NotAnOption),
            ],
            ex.Problems.Select(p => (p.Path, p.Code)));
    }

    [Fact]
    public void Import_reports_repeated_group_instances_by_index()
    {
        IntakeForm form = Load(Group("meds", "\"repeats\": true", Item("dose", "integer", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10 }] """)));
        string json = $$"""
            { "resourceType": "QuestionnaireResponse", "id": "r1", "questionnaire": "{{Url}}|2", "status": "completed", "authored": "2026-01-02",
              "item": [
                { "linkId": "meds", "item": [{ "linkId": "dose", "answer": [{ "valueInteger": 5 }] }] },
                { "linkId": "meds", "item": [{ "linkId": "dose", "answer": [{ "valueInteger": 50 }] }] }
              ] }
            """;

        var ex = Assert.Throws<IntakeValidationException>(() => FhirImport.FromQuestionnaireResponse(json, form));

        IntakeProblem problem = Assert.Single(ex.Problems);
        Assert.Equal(("meds[1]/dose", IntakeProblemCode.AboveMaximum), (problem.Path, problem.Code));
    }

    public static TheoryData<string, string> UnreadableResponses => new()
    {
        { "malformed JSON", "{ \"resourceType\": " },
        { "another resource", """{ "resourceType": "Questionnaire" }""" },
        { "in progress", """{ "resourceType": "QuestionnaireResponse", "id": "r", "status": "in-progress", "authored": "2026-01-01" }""" },
        { "no authored", """{ "resourceType": "QuestionnaireResponse", "id": "r", "status": "completed" }""" },
        { "authored without zone", """{ "resourceType": "QuestionnaireResponse", "id": "r", "status": "completed", "authored": "2026-01-01T10:00:00" }""" },
        { "no id", """{ "resourceType": "QuestionnaireResponse", "status": "completed", "authored": "2026-01-01" }""" },
        { "item without linkId", """{ "resourceType": "QuestionnaireResponse", "id": "r", "status": "completed", "authored": "2026-01-01", "item": [{ "text": "x" }] }""" },
    };

    [Theory]
    [MemberData(nameof(UnreadableResponses))]
    public void Import_rejects_unreadable_responses_with_InvalidFormat(string because, string json)
    {
        var ex = Assert.Throws<TelehealthException>(() => FhirImport.FromQuestionnaireResponse(json, Load(Item("q", "string"))));

        Assert.True(ex.ErrorCode == TelehealthErrorCode.InvalidFormat, because);
    }

    [SkippableFact]
    public void The_sdc_phq9_response_imports_and_re_exports_to_an_equivalent_questionnaire_response()
    {
        IntakeForm form = IntakeForm.Parse(SharedFiles.ReadText("fhir/sdc-phq9-questionnaire.json"));
        string original = SharedFiles.ReadText("fhir/sdc-phq9-response-profile.json");

        IntakeSubmission submission = FhirImport.FromQuestionnaireResponse(original, form);
        string reexported = FhirExport.ToQuestionnaireResponse(submission);

        fhir.AssertValid(reexported);
        JsonNode before = JsonNode.Parse(original)!;
        JsonNode after = JsonNode.Parse(reexported)!;
        Assert.Equal((string?)before["id"], (string?)after["id"]);
        Assert.True(form.Url == (string?)before["questionnaire"] && form.Canonical == (string?)after["questionnaire"]);
        Assert.Equal((string?)before["status"], (string?)after["status"]);
        Assert.Equal((string?)before["subject"]!["reference"], (string?)after["subject"]!["reference"]);
        Assert.Equal((string?)before["author"]!["reference"], (string?)after["author"]!["reference"]);
        Assert.Equal(DateTimeOffset.Parse((string)before["authored"]!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse((string)after["authored"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Tree(before), Tree(after));
        Assert.Equal(10, Tree(after).Count(line => line.Contains("answer", StringComparison.Ordinal)));

        Assert.Equal(1m, submission.Answers.GetOrdinalValue("H1/T1/Q9"));
        Assert.Equal(new Quantity(13m, "{score}"), submission.Answers.GetQuantity("H1/TS"));
    }

    [SkippableFact]
    public void The_sdc_phq9_flat_response_is_rejected_with_a_nesting_problem_for_every_item()
    {
        IntakeForm form = IntakeForm.Parse(SharedFiles.ReadText("fhir/sdc-phq9-questionnaire.json"));
        string flat = SharedFiles.ReadText("fhir/sdc-phq9-response-flat-invalid.json");

        var ex = Assert.Throws<IntakeValidationException>(() => FhirImport.FromQuestionnaireResponse(flat, form));

        string[] expected = [.. Enumerable.Range(1, 9).Select(i => $"H1/T1/Q{i}"), "H1/TS"];
        Assert.Equal(expected, ex.Problems.Where(p => p.Code == IntakeProblemCode.InvalidNesting).Select(p => p.Path));
        Assert.All(ex.Problems.Where(p => p.Code == IntakeProblemCode.InvalidNesting), p => Assert.Contains("inside 'H1/T1'", p.Message, StringComparison.Ordinal));
        // It also names another Questionnaire ("Questionnaire/sdc-profile-example-PHQ9").
        Assert.Contains(ex.Problems, p => p.Code == IntakeProblemCode.QuestionnaireMismatch);
    }

    [Fact]
    public void Every_exported_form_of_answer_passes_the_firely_validator()
    {
        IntakeForm form = Load(Item("q", "open-choice", """ "answerOption": [{ "valueString": "a" }, { "valueInteger": 1 }, { "valueDate": "2026-01-01" }, { "valueTime": "10:00:00" }, { "valueReference": { "reference": "Organization/1" } }], "repeats": true """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        foreach (IntakeAnswerOption option in form.GetItem("q").AnswerOptions)
        {
            answers.Add("q", option.Value);
        }

        string json = FhirExport.ToQuestionnaireResponse(IntakeSubmission.Create(answers, new UserId("p"), Clock));

        fhir.AssertValid(json);
        Assert.Equal(
            ["valueString", "valueInteger", "valueDate", "valueTime", "valueReference"],
            JsonNode.Parse(json)!["item"]![0]!["answer"]!.AsArray().Select(a => a!.AsObject().Single().Key));
    }

    private static List<JsonNode> Items(JsonNode node) => node["item"]?.AsArray().Select(i => i!).ToList() ?? [];

    private static JsonNode Answer(JsonNode item) => item["answer"]![0]!;

    private static string LinkId(JsonNode item) => (string)item["linkId"]!;

    // The item tree as lines of path, text and answer values, for a structural comparison.
    private static List<string> Tree(JsonNode resource)
    {
        var lines = new List<string>();
        Walk(resource, string.Empty);
        return lines;

        void Walk(JsonNode owner, string prefix)
        {
            foreach (JsonNode item in Items(owner))
            {
                string path = prefix + "/" + LinkId(item);
                lines.Add(path + " text=" + (string?)item["text"]);
                foreach (JsonNode? answer in item["answer"]?.AsArray() ?? [])
                {
                    JsonObject value = answer!.AsObject();
                    foreach (var (key, node) in value.Where(p => p.Key != "item"))
                    {
                        string rendered = key == "valueCoding"
                            ? $"{(string?)node!["code"]}|{(string?)node["display"]}"
                            : node!.ToJsonString();
                        lines.Add(path + " answer " + key + "=" + rendered);
                    }

                    Walk(answer, path + "/answer");
                }

                Walk(item, path);
            }
        }
    }
}
