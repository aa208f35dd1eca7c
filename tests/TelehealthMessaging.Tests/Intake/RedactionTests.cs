using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

// Answers are health data: no message, exception or ToString may carry one. Every value below is a canary (code
// systems excepted: Coding.ToString names its system by design, which identifies a terminology, not a patient).
public class RedactionTests
{
    private static readonly string[] Canaries =
    [
        "CANARY-TEXT", "CANARY-CODE", "CANARY-DISPLAY", "canary.example", "CANARY-UNIT", "CANARY-TITLE", "CANARY-REF",
        "987654", "4321.987", "1911", "23:47:13", "77777",
    ];

    private static IntakeForm CanaryForm() => Load(
        Item("text", "string", "\"maxLength\": 3"),
        Item("count", "integer", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 5 }] """),
        Item("amount", "decimal", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDecimal": 5000 }] """),
        Item("day", "date", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDate": "2000-01-01" }] """),
        Item("moment", "dateTime"),
        Item("clock", "time", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueTime": "12:00:00" }] """),
        Item("site", "url", "\"maxLength\": 5"),
        Item("pick", "choice", """ "answerOption": [{ "valueCoding": { "system": "http://s", "code": "ok" } }] """),
        Item("weight", "quantity", """ "extension": [{ "url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueQuantity": { "value": 1, "unit": "kg" } }] """),
        Item("file", "attachment"),
        Item("who", "reference"),
        Item("flag", "boolean"),
        Group("list", "\"repeats\": true", Item("entry", "string", "\"maxLength\": 2")));

    private static IntakeAnswers CanaryAnswers(IntakeForm form)
    {
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetString("text", "CANARY-TEXT");
        answers.SetInteger("count", 987654);
        answers.SetDecimal("amount", 4321.987m);
        answers.SetDate("day", new DateOnly(1911, 11, 11));
        answers.SetDateTime("moment", new DateTimeOffset(1911, 11, 11, 23, 47, 13, TimeSpan.Zero));
        answers.SetTime("clock", new TimeOnly(23, 47, 13));
        answers.SetUri("site", new Uri("https://canary.example/CANARY-TEXT"));
        answers.SetCoding("pick", new Coding("http://codes.example", "CANARY-CODE", "CANARY-DISPLAY"));
        answers.SetQuantity("weight", new Quantity(77777m, "CANARY-UNIT", "http://canary.example", "CANARY-CODE"));
        answers.SetAttachment("file", new AttachmentReference(new Uri("https://canary.example/f"), "text/plain", 77777, "Q0FOQVJZ", "CANARY-TITLE"));
        answers.SetReference("who", "Patient/CANARY-REF");
        answers.SetBoolean("flag", true);
        answers.AddGroup("list").SetString("entry", "CANARY-TEXT");
        return answers;
    }

    [Fact]
    public void No_validation_message_exception_message_or_ToString_contains_an_answer_value()
    {
        IntakeForm form = CanaryForm();
        IntakeAnswers answers = CanaryAnswers(form);
        var texts = new List<string>();
        var described = new List<object>();

        IntakeValidationResult result = answers.Validate();
        Assert.Equal(
            ["text", "count", "amount", "day", "clock", "site", "pick", "weight", "list[0]/entry"],
            result.Problems.Select(p => p.Path));
        texts.AddRange(result.Problems.Select(p => p.Message));
        described.AddRange(result.Problems);
        described.Add(result);

        var invalid = Assert.Throws<IntakeValidationException>(() => IntakeSubmission.Create(answers, new UserId("p"), new FakeTimeProvider()));
        texts.Add(invalid.Message);
        texts.Add(invalid.ToString());

        texts.Add(Assert.Throws<ArgumentException>(() => answers.SetChoice("pick", "CANARY-CODE")).Message);
        texts.Add(Assert.Throws<ArgumentException>(() => answers.Set("count", new StringAnswer("CANARY-TEXT"))).Message);
        texts.Add(Assert.Throws<ArgumentException>(() => answers.SetUri("site", new Uri("CANARY-TEXT", UriKind.Relative))).Message);
        texts.Add(Assert.Throws<ArgumentException>(() => answers.Add("text", new StringAnswer("CANARY-TEXT"))).Message);

        // Import: wrongly typed, malformed and unknown values in a response.
        string response = $$"""
            { "resourceType": "QuestionnaireResponse", "id": "r", "questionnaire": "{{Url}}", "status": "completed", "authored": "2026-01-01",
              "item": [
                { "linkId": "count", "answer": [{ "valueString": "CANARY-TEXT" }] },
                { "linkId": "day", "answer": [{ "valueDate": "CANARY-TEXT" }] },
                { "linkId": "pick", "answer": [{ "valueCoding": { "system": "http://codes.example", "code": "CANARY-CODE" } }] },
                { "linkId": "text", "answer": [{ "valueCANARY": "CANARY-TEXT" }] },
                { "linkId": "flag", "answer": [{ "valueBoolean": true }, { "valueBoolean": false }] }
              ] }
            """;
        var importInvalid = Assert.Throws<IntakeValidationException>(() => FhirImport.FromQuestionnaireResponse(response, form));
        Assert.Equal(5, importInvalid.Problems.Count);
        texts.Add(importInvalid.Message);
        texts.AddRange(importInvalid.Problems.Select(p => p.Message));
        texts.Add(Assert.Throws<TelehealthException>(() => FhirImport.FromQuestionnaireResponse("{ \"CANARY-TEXT\": ", form)).Message);
        texts.Add(Assert.Throws<TelehealthException>(() => IntakeForm.Parse("{ \"resourceType\": \"CANARY-TEXT\" }")).Message);

        // ToString of every public type that can hold or surround an answer.
        foreach (IntakeItem item in form.AllItems.Where(i => i.IsQuestion && i.RepeatingOwner is null))
        {
            described.Add(Assert.Single(answers.GetAnswers(item.LinkId)));
        }

        IntakeAnswers valid = IntakeAnswers.Create(form);
        foreach (string linkId in new[] { "moment", "file", "who", "flag" })
        {
            valid.Set(linkId, answers.GetAnswers(linkId)[0]);
        }

        // A fixed id: a random one's hex digits hold a numeric canary now and then ("1911" in about 1 of 2,000 runs).
        IntakeSubmission submission = IntakeSubmission.Create(valid, new UserId("p"), new FakeTimeProvider(), new IntakeSubmissionId("submission-1"));
        described.AddRange([
            new Quantity(77777m, "CANARY-UNIT", "http://canary.example", "CANARY-CODE"),
            new AttachmentReference(new Uri("https://canary.example/f"), Title: "CANARY-TITLE"),
            new IntakeAnswerOption(new StringAnswer("CANARY-TEXT"), true, 77777m),
            new EnableWhenCondition("q", EnableWhenOperator.Equal, new StringAnswer("CANARY-TEXT")),
            new Coding("http://codes.example", "CANARY-CODE", "CANARY-DISPLAY"),
            new StringAnswer("CANARY-TEXT"), new UriAnswer(new Uri("https://canary.example")), new ReferenceAnswer("CANARY-REF"),
            new BooleanAnswer(true), new DecimalAnswer(4321.987m), new IntegerAnswer(987654),
            answers, answers.GetGroup("list", 0), submission, submission.Answers, form, form.GetItem("pick"), invalid,
        ]);

        // Red flags and the built-in intake's builder.
        var canaryRule = new RedFlagRule("count-rule", "Count above limit", [new EnableWhenCondition("count", EnableWhenOperator.GreaterThan, new IntegerAnswer(5))]);
        var redFlagOptions = new RedFlagOptions();
        redFlagOptions.Rules.Add(canaryRule);
        var evaluator = new RedFlagEvaluator(redFlagOptions);
        var builder = new TelehealthIntakeBuilder { GivenName = "CANARY-TEXT", ChiefComplaint = "CANARY-TEXT", Phone = "+1987654" };
        builder.Symptoms.Add(new SymptomReport("CANARY-TEXT", 3) { Duration = SymptomDuration.Days(77777) });
        described.AddRange([
            canaryRule, redFlagOptions, evaluator, evaluator.Evaluate(answers)!, builder, builder.Symptoms[0], SymptomDuration.Days(77777),
        ]);
        texts.AddRange(described.Select(d => d.ToString()!));

        foreach (string text in texts)
        {
            foreach (string canary in Canaries)
            {
                Assert.False(text.Contains(canary, StringComparison.OrdinalIgnoreCase), $"'{canary}' leaked into: {text}");
            }
        }

        // Every concrete public type of the intake namespace was described above.
        var covered = described.Select(d => d.GetType()).ToHashSet();
        var publicTypes = typeof(IntakeForm).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(IntakeForm).Namespace && !t.IsEnum && !t.IsAbstract);
        Assert.All(publicTypes, t => Assert.True(covered.Contains(t), $"{t.Name} is not checked for redaction"));
    }
}
