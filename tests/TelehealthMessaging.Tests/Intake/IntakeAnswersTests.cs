using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Intake;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class IntakeAnswersTests
{
    private static IntakeForm EveryType() => Load(
        Item("boolean", "boolean"),
        Item("decimal", "decimal"),
        Item("integer", "integer"),
        Item("date", "date"),
        Item("dateTime", "dateTime"),
        Item("time", "time"),
        Item("string", "string"),
        Item("text", "text"),
        Item("url", "url"),
        Item("choice", "choice", """ "answerOption": [{ "valueCoding": { "system": "http://s", "code": "a", "display": "A" } }, { "valueCoding": { "system": "http://s", "code": "b" } }] """),
        Item("openChoice", "open-choice", """ "answerOption": [{ "valueCoding": { "system": "http://s", "code": "a" } }] """),
        Item("attachment", "attachment"),
        Item("reference", "reference"),
        Item("quantity", "quantity"),
        Item("display", "display"),
        Group("group", "", Item("inGroup", "string")));

    [Fact]
    public void Typed_setters_store_values_that_typed_getters_return()
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());
        var when = new DateTimeOffset(2026, 11, 26, 9, 30, 0, TimeSpan.FromHours(1));
        var attachment = new AttachmentReference(new Uri("https://files.example/1"), "image/png", 10, "aGFzaA==", "photo");

        answers.SetBoolean("boolean", true);
        answers.SetDecimal("decimal", 37.25m);
        answers.SetInteger("integer", 42);
        answers.SetDate("date", new DateOnly(1990, 2, 3));
        answers.SetDateTime("dateTime", when);
        answers.SetTime("time", new TimeOnly(8, 15));
        answers.SetString("string", "short");
        answers.SetString("text", "long\ntext");
        answers.SetUri("url", new Uri("https://example.org/a"));
        answers.SetChoice("choice", "a");
        answers.SetString("openChoice", "something else");
        answers.SetAttachment("attachment", attachment);
        answers.SetReference("reference", "Practitioner/7");
        answers.SetQuantity("quantity", new Quantity(70m, "kg", "http://unitsofmeasure.org", "kg"));
        answers.SetString("inGroup", "nested");

        Assert.Equal(true, answers.GetBoolean("boolean"));
        Assert.Equal(37.25m, answers.GetDecimal("decimal"));
        Assert.Equal(42, answers.GetInteger("integer"));
        Assert.Equal(new DateOnly(1990, 2, 3), answers.GetDate("date"));
        Assert.Equal(when, answers.GetDateTime("dateTime"));
        Assert.Equal(new TimeOnly(8, 15), answers.GetTime("time"));
        Assert.Equal("short", answers.GetString("string"));
        Assert.Equal("long\ntext", answers.GetString("text"));
        Assert.Equal(new Uri("https://example.org/a"), answers.GetUri("url"));
        Assert.Equal(new Coding("http://s", "a", "A"), answers.GetCoding("choice"));
        Assert.Equal("something else", answers.GetString("openChoice"));
        Assert.Null(answers.GetCoding("openChoice"));
        Assert.Equal(attachment, answers.GetAttachment("attachment"));
        Assert.Equal("Practitioner/7", answers.GetReference("reference"));
        Assert.Equal(new Quantity(70m, "kg", "http://unitsofmeasure.org", "kg"), answers.GetQuantity("quantity"));
        Assert.Equal("nested", answers.GetString("inGroup"));
        Assert.True(answers.Validate().IsValid);
    }

    [Fact]
    public void Getters_return_null_for_unanswered_questions()
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());

        Assert.Null(answers.GetInteger("integer"));
        Assert.Null(answers.GetAnswer("string"));
        Assert.Empty(answers.GetAnswers("choice"));
        Assert.Null(answers.GetOrdinalValue("choice"));
    }

    public static TheoryData<string, IntakeAnswerValue> MismatchedValues => new()
    {
        { "boolean", new IntegerAnswer(1) },
        { "integer", new DecimalAnswer(1.5m) },
        { "decimal", new IntegerAnswer(1) },
        { "date", new DateTimeAnswer(DateTimeOffset.UnixEpoch) },
        { "dateTime", new DateAnswer(new DateOnly(2020, 1, 1)) },
        { "string", new CodingAnswer(new Coding(null, "a")) },
        { "url", new StringAnswer("https://example.org") },
        { "choice", new BooleanAnswer(true) },
        { "choice", new IntegerAnswer(1) },
        { "openChoice", new DateAnswer(new DateOnly(2020, 1, 1)) },
        { "quantity", new DecimalAnswer(1m) },
        { "attachment", new ReferenceAnswer("Binary/1") },
    };

    [Theory]
    [MemberData(nameof(MismatchedValues))]
    public void Set_rejects_a_value_of_the_wrong_kind_naming_the_linkId_and_expected_type_but_not_the_value(string linkId, IntakeAnswerValue value)
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());

        var ex = Assert.Throws<ArgumentException>(() => answers.Set(linkId, value));

        Assert.Contains($"'{linkId}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(value.GetType().Name, ex.Message, StringComparison.Ordinal);
        Assert.Empty(answers.GetAnswers(linkId));
    }

    [Theory]
    [InlineData("unknown", "no item")]
    [InlineData("display", "display item")]
    [InlineData("group", "group item")]
    public void Setters_reject_unknown_display_and_group_items(string linkId, string expected)
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());

        var ex = Assert.Throws<ArgumentException>(() => answers.SetString(linkId, "x"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_getters_reject_a_kind_the_item_cannot_hold()
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());

        Assert.Throws<ArgumentException>(() => answers.GetInteger("boolean"));
        Assert.Throws<ArgumentException>(() => answers.GetString("choice"));
    }

    [Fact]
    public void SetChoice_rejects_a_code_that_is_no_option_without_echoing_it()
    {
        IntakeAnswers answers = IntakeAnswers.Create(EveryType());

        var ex = Assert.Throws<ArgumentException>(() => answers.SetChoice("choice", "CANARY-CODE"));

        Assert.DoesNotContain("CANARY-CODE", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeating_questions_take_several_answers_and_others_only_one()
    {
        IntakeForm form = Load(Item("allergy", "string", "\"repeats\": true"), Item("single", "string"));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        answers.Add("allergy", new StringAnswer("penicillin"));
        answers.Add("allergy", new StringAnswer("latex"));

        Assert.Equal([new StringAnswer("penicillin"), new StringAnswer("latex")], answers.GetAnswers("allergy"));
        Assert.Throws<ArgumentException>(() => answers.Add("single", new StringAnswer("x")));

        answers.Clear("allergy");
        Assert.Empty(answers.GetAnswers("allergy"));
    }

    [Fact]
    public void Repeating_groups_are_answered_per_instance()
    {
        IntakeForm form = Load(
            Group("medications", "\"repeats\": true, \"required\": true", Item("name", "string", "\"required\": true"), Item("dose", "decimal")),
            Item("other", "string"));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        Assert.Equal(IntakeProblemCode.Required, Assert.Single(answers.Validate().Problems).Code);

        IntakeGroupAnswers first = answers.AddGroup("medications");
        first.SetString("name", "aspirin");
        IntakeGroupAnswers second = answers.AddGroup("medications");
        second.SetDecimal("dose", 2.5m);

        Assert.Equal(0, first.Index);
        Assert.Equal(1, second.Index);
        Assert.Same(form.GetItem("medications"), second.Group);
        Assert.Equal("aspirin", answers.GetGroup("medications", 0).GetString("name"));
        Assert.Equal(["aspirin", null], answers.GetGroupInstances("medications").Select(g => g.GetString("name")));

        IntakeProblem problem = Assert.Single(answers.Validate().Problems);
        Assert.Equal("medications[1]/name", problem.Path);
        Assert.Equal(IntakeProblemCode.Required, problem.Code);

        Assert.Throws<ArgumentException>(() => answers.SetString("name", "x"));
        Assert.Throws<ArgumentException>(() => first.SetString("other", "x"));
        Assert.Throws<ArgumentException>(() => answers.AddGroup("other"));
        Assert.Throws<ArgumentOutOfRangeException>(() => answers.GetGroup("medications", 2));

        answers.Clear("medications");
        Assert.Empty(answers.GetGroupInstances("medications"));
    }

    [Fact]
    public void Create_applies_initial_values_and_initially_selected_options_also_in_new_group_instances()
    {
        IntakeForm form = Load(
            Item("country", "string", """ "initial": [{ "valueString": "NZ" }] """),
            Item("contact", "choice", """ "answerOption": [{ "valueCoding": { "code": "sms" }, "initialSelected": true }, { "valueCoding": { "code": "call" } }] """),
            Group("visits", "\"repeats\": true", Item("count", "integer", """ "initial": [{ "valueInteger": 1 }] """)));

        IntakeAnswers answers = IntakeAnswers.Create(form);

        Assert.Equal("NZ", answers.GetString("country"));
        Assert.Equal("sms", answers.GetCoding("contact")!.Code);
        Assert.Equal(1, answers.AddGroup("visits").GetInteger("count"));
    }

    [Fact]
    public void Validate_reports_every_problem_at_once_in_form_order()
    {
        IntakeForm form = Load(
            Item("name", "string", "\"required\": true"),
            Item("nickname", "string", "\"maxLength\": 5"),
            Item("age", "integer", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 18 }, { "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 120 }] """),
            Item("temperature", "decimal", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueDecimal": 42.0 }] """),
            Item("visit", "date", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDate": "2026-01-01" }] """),
            Item("weight", "quantity", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueQuantity": { "value": 300, "unit": "kg" } }] """),
            Item("colour", "choice", """ "answerOption": [{ "valueString": "red" }] """),
            Group("contact", "\"required\": true", Item("phone", "string")));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetString("nickname", "toolong");
        answers.SetInteger("age", 17);
        answers.SetDecimal("temperature", 42.1m);
        answers.SetDate("visit", new DateOnly(2025, 12, 31));
        answers.SetQuantity("weight", new Quantity(200m, "lb"));
        answers.Set("colour", new StringAnswer("green"));

        IntakeValidationResult result = answers.Validate();

        Assert.False(result.IsValid);
        Assert.Equal(
            [
                ("name", IntakeProblemCode.Required),
                ("nickname", IntakeProblemCode.MaxLengthExceeded),
                ("age", IntakeProblemCode.BelowMinimum),
                ("temperature", IntakeProblemCode.AboveMaximum),
                ("visit", IntakeProblemCode.BelowMinimum),
                ("weight", IntakeProblemCode.WrongUnit),
                ("colour", IntakeProblemCode.NotAnOption),
                ("contact", IntakeProblemCode.Required),
            ],
            result.Problems.Select(p => (p.Path, p.Code)));

        answers.SetInteger("age", 121);
        Assert.Contains(answers.Validate().Problems, p => p is { Path: "age", Code: IntakeProblemCode.AboveMaximum });
        answers.SetInteger("age", 120);
        Assert.DoesNotContain(answers.Validate().Problems, p => p.Path == "age");
    }

    [Fact]
    public void Codings_match_options_by_system_and_code_and_score_by_ordinal_value()
    {
        IntakeForm form = Load(Item("mood", "choice", """
            "answerOption": [
              { "valueCoding": { "system": "http://s", "code": "0" }, "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0 }] },
              { "valueCoding": { "system": "http://s", "code": "3" }, "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 3 }] }
            ]
            """));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        answers.SetCoding("mood", new Coding("http://other", "3"));
        Assert.Equal(IntakeProblemCode.NotAnOption, Assert.Single(answers.Validate().Problems).Code);
        Assert.Null(answers.GetOrdinalValue("mood"));

        answers.SetCoding("mood", new Coding(null, "3"));
        Assert.True(answers.Validate().IsValid);
        Assert.Equal(3m, answers.GetOrdinalValue("mood"));

        answers.SetChoice("mood", "0");
        Assert.Equal(0m, answers.GetOrdinalValue("mood"));
    }

    [Fact]
    public void Quantity_answers_must_use_one_of_the_unit_options()
    {
        IntakeForm form = Load(Item("duration", "quantity", """
            "extension": [
              { "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption", "valueCoding": { "system": "http://unitsofmeasure.org", "code": "d", "display": "days" } },
              { "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption", "valueCoding": { "system": "http://unitsofmeasure.org", "code": "wk", "display": "weeks" } }
            ]
            """));
        IntakeItem duration = form.GetItem("duration");
        IntakeAnswers answers = IntakeAnswers.Create(form);

        Assert.Equal(["d", "wk"], duration.UnitOptions.Select(u => u.Code));
        answers.SetQuantity("duration", 3m, duration.UnitOptions[1]);
        Assert.Equal(new Quantity(3m, "weeks", "http://unitsofmeasure.org", "wk"), answers.GetQuantity("duration"));
        Assert.True(answers.Validate().IsValid);

        answers.SetQuantity("duration", new Quantity(3m, "h", "http://unitsofmeasure.org", "h"));
        Assert.Equal(IntakeProblemCode.WrongUnit, Assert.Single(answers.Validate().Problems).Code);
        answers.SetQuantity("duration", new Quantity(3m, "days"));
        Assert.Equal(IntakeProblemCode.WrongUnit, Assert.Single(answers.Validate().Problems).Code);
    }

    [Fact]
    public void An_external_answer_value_set_accepts_any_coding()
    {
        IntakeForm form = Load(Item("drug", "choice", """ "answerValueSet": "http://snomed.info/sct?fhir_vs=isa/410942007" """));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        answers.SetCoding("drug", new Coding("http://snomed.info/sct", "387458008"));

        Assert.True(answers.Validate().IsValid);
    }

    [Fact]
    public void Answers_to_items_nested_under_an_unanswered_question_are_an_invalid_nesting()
    {
        IntakeForm form = Load(Item("smoker", "boolean", """ "item": [{ "linkId": "since", "type": "integer" }] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetInteger("since", 2001);

        IntakeProblem problem = Assert.Single(answers.Validate().Problems);
        Assert.Equal(("smoker", IntakeProblemCode.InvalidNesting), (problem.Path, problem.Code));

        answers.SetBoolean("smoker", true);
        Assert.True(answers.Validate().IsValid);
    }

    [Fact]
    public void Submission_is_a_snapshot_stamped_by_the_time_provider_for_the_patient()
    {
        IntakeForm form = Load(Item("name", "string", "\"required\": true"));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 5, 0, 0, TimeSpan.Zero));
        answers.SetString("name", "first");

        IntakeSubmission submission = IntakeSubmission.Create(answers, new UserId("patient-1"), time, new IntakeSubmissionId("sub-1"));
        answers.SetString("name", "changed");

        Assert.Equal("first", submission.Answers.GetString("name"));
        Assert.Equal(new IntakeSubmissionId("sub-1"), submission.Id);
        Assert.Equal(time.GetUtcNow(), submission.Authored);
        Assert.Equal("Patient/patient-1", submission.Subject);
        Assert.Equal("Patient/patient-1", submission.Author);
        Assert.Equal(IntakeSubmissionStatus.Completed, submission.Status);
        Assert.Same(form, submission.Form);
    }

    [Fact]
    public void Submitting_invalid_answers_throws_a_validation_exception_with_the_same_problems()
    {
        IntakeForm form = Load(Item("name", "string", "\"required\": true"), Item("code", "string", "\"required\": true"));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        var ex = Assert.Throws<IntakeValidationException>(() => IntakeSubmission.Create(answers, new UserId("p"), new FakeTimeProvider()));

        Assert.Equal(TelehealthErrorCode.ValidationFailed, ex.ErrorCode);
        Assert.False(ex.IsTransient);
        Assert.Equal(answers.Validate().Problems, ex.Problems);
        Assert.Equal("The intake has 2 problems at: name, code.", ex.Message);
    }

    [Fact]
    public void Create_rejects_default_ids()
    {
        IntakeAnswers answers = IntakeAnswers.Create(Load(Item("q", "string")));

        Assert.Throws<ArgumentException>(() => IntakeSubmission.Create(answers, default, new FakeTimeProvider()));
        Assert.Throws<ArgumentException>(() => IntakeSubmission.Create(answers, new UserId("p"), new FakeTimeProvider(), default(IntakeSubmissionId)));
    }
}
