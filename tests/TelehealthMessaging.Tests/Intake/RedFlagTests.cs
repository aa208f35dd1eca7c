using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class RedFlagTests
{
    private static IntakeAnswers WithSymptoms(params Coding[] symptoms)
    {
        TelehealthIntakeBuilder intake = TelehealthIntakeBuilderTests.Complete();
        intake.Symptoms.Clear();
        foreach (Coding symptom in symptoms)
        {
            intake.Symptoms.Add(new SymptomReport(symptom, 7));
        }

        return intake.ToAnswers();
    }

    [Fact]
    public void Chest_pain_with_breathlessness_in_separate_symptom_entries_is_an_emergency()
    {
        EmergencyAdvice? advice = new RedFlagEvaluator().Evaluate(WithSymptoms(TelehealthSymptoms.Fever, TelehealthSymptoms.ChestPain, TelehealthSymptoms.ShortnessOfBreath));
        Assert.NotNull(advice);
        Assert.Equal(["chest-pain-with-breathlessness"], advice.TriggeredRuleIds);
        Assert.Equal("911", advice.EmergencyNumber);
        Assert.Contains("911", advice.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("29857009")]
    [InlineData("267036007")]
    [InlineData("386661006,49727002")]
    [InlineData("")]
    public void Either_symptom_alone_or_other_symptoms_raise_no_flag(string codes)
    {
        Coding[] symptoms = [.. codes.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => new Coding(TelehealthSymptoms.SnomedCt, c))];
        Assert.Null(new RedFlagEvaluator().Evaluate(WithSymptoms(symptoms)));
    }

    [Theory]
    [InlineData(EmergencyRegion.Korea, null, "119")]
    [InlineData(EmergencyRegion.UnitedStates, null, "911")]
    [InlineData(EmergencyRegion.EuropeanUnion, null, "112")]
    [InlineData(EmergencyRegion.Korea, "000", "000")]
    public void The_advice_gives_the_regions_emergency_number_or_the_configured_one(EmergencyRegion region, string? overrideNumber, string expected)
    {
        var evaluator = new RedFlagEvaluator(new RedFlagOptions { Region = region, EmergencyNumber = overrideNumber });
        EmergencyAdvice advice = evaluator.Evaluate(WithSymptoms(TelehealthSymptoms.ChestPain, TelehealthSymptoms.ShortnessOfBreath))!;
        Assert.Equal((region, expected), (advice.Region, advice.EmergencyNumber));
    }

    [SkippableTheory]
    [InlineData("Not-at-all", false)]
    [InlineData("Several-days", true)]
    [InlineData("More than half the days", true)]
    [InlineData("Nearly every day", true)]
    public void Phq9_item_9_above_zero_is_an_emergency(string item9Code, bool emergency)
    {
        IntakeForm phq9 = IntakeForm.Parse(SharedFiles.ReadText("fhir/sdc-phq9-questionnaire.json"));
        IntakeAnswers answers = IntakeAnswers.Create(phq9);
        answers.SetChoice("H1/T1/Q9", item9Code);
        EmergencyAdvice? advice = new RedFlagEvaluator(new RedFlagOptions { Region = EmergencyRegion.Korea }).Evaluate(answers);
        Assert.Equal(emergency, advice is not null);
        if (advice is not null)
        {
            Assert.Equal(("119", "phq9-item9-self-harm"), (advice.EmergencyNumber, advice.TriggeredRuleIds.Single()));
        }
    }

    [SkippableFact]
    public void The_published_phq9_response_is_flagged_after_import()
    {
        IntakeForm phq9 = IntakeForm.Parse(SharedFiles.ReadText("fhir/sdc-phq9-questionnaire.json"));
        IntakeSubmission submission = FhirImport.FromQuestionnaireResponse(SharedFiles.ReadText("fhir/sdc-phq9-response-profile.json"), phq9);
        Assert.Equal(["phq9-item9-self-harm"], new RedFlagEvaluator().Evaluate(submission.Answers)!.TriggeredRuleIds);
    }

    [Fact]
    public void A_rule_for_another_form_or_for_missing_questions_never_fires()
    {
        IntakeAnswers answers = WithSymptoms(TelehealthSymptoms.ChestPain, TelehealthSymptoms.ShortnessOfBreath);
        var elsewhere = new RedFlagRule("x", "Another form", [new EnableWhenCondition(TelehealthIntake.LinkIds.SymptomCode, EnableWhenOperator.Exists, new BooleanAnswer(true))], formUrl: "http://example.org/other");
        var missing = new RedFlagRule("y", "Missing question", [new EnableWhenCondition("no-such-item", EnableWhenOperator.Exists, new BooleanAnswer(true))]);
        var options = new RedFlagOptions();
        options.Rules.Clear();
        options.Rules.Add(elsewhere);
        options.Rules.Add(missing);
        Assert.Null(new RedFlagEvaluator(options).Evaluate(answers));
    }

    [Fact]
    public void Answers_to_items_hidden_by_enable_when_do_not_count()
    {
        IntakeForm form = Load(
            Item("smoker", "boolean"),
            Item("packs", "integer", """ "enableWhen": [ { "question": "smoker", "operator": "=", "answerBoolean": true } ] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("smoker", false);
        answers.SetInteger("packs", 5);
        var rule = new RedFlagRule("heavy", "Heavy smoking", [new EnableWhenCondition("packs", EnableWhenOperator.GreaterOrEqual, new IntegerAnswer(3))]);
        var options = new RedFlagOptions();
        options.Rules.Add(rule);
        var evaluator = new RedFlagEvaluator(options);
        Assert.Null(evaluator.Evaluate(answers));
        answers.SetBoolean("smoker", true);
        Assert.Equal(["heavy"], evaluator.Evaluate(answers)!.TriggeredRuleIds);
    }

    [Theory]
    [InlineData(EnableBehavior.All, false, true, false)]
    [InlineData(EnableBehavior.All, true, true, true)]
    [InlineData(EnableBehavior.Any, false, true, true)]
    [InlineData(EnableBehavior.Any, false, false, false)]
    public void Rules_combine_conditions_with_all_or_any(EnableBehavior behavior, bool a, bool b, bool fires)
    {
        IntakeForm form = Load(Item("a", "boolean"), Item("b", "boolean"));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("a", a);
        answers.SetBoolean("b", b);
        var options = new RedFlagOptions();
        options.Rules.Add(new RedFlagRule(
            "both",
            "Both",
            [
                new EnableWhenCondition("a", EnableWhenOperator.Equal, new BooleanAnswer(true)),
                new EnableWhenCondition("b", EnableWhenOperator.Equal, new BooleanAnswer(true)),
            ],
            behavior));
        Assert.Equal(fires, new RedFlagEvaluator(options).Evaluate(answers) is not null);
    }

    [Theory]
    [InlineData(EnableWhenOperator.Equal, 2, true)]
    [InlineData(EnableWhenOperator.NotEqual, 2, false)]
    [InlineData(EnableWhenOperator.GreaterThan, 1, true)]
    [InlineData(EnableWhenOperator.GreaterThan, 2, false)]
    [InlineData(EnableWhenOperator.LessThan, 3, true)]
    [InlineData(EnableWhenOperator.GreaterOrEqual, 2, true)]
    [InlineData(EnableWhenOperator.LessOrEqual, 1, false)]
    public void Numbers_compare_with_the_score_of_a_chosen_option(EnableWhenOperator op, int threshold, bool fires)
    {
        IntakeForm form = Load(Item("mood", "choice", """
            "answerOption": [
              { "valueCoding": { "system": "http://example.org/s", "code": "low" }, "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0 } ] },
              { "valueCoding": { "system": "http://example.org/s", "code": "high" }, "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 2 } ] }
            ]
            """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetChoice("mood", "high");
        var options = new RedFlagOptions();
        options.Rules.Clear();
        options.Rules.Add(new RedFlagRule("mood", "Mood score", [new EnableWhenCondition("mood", op, new IntegerAnswer(threshold))]));
        Assert.Equal(fires, new RedFlagEvaluator(options).Evaluate(answers) is not null);
    }

    [Fact]
    public void Bad_rules_and_options_are_refused_when_built()
    {
        Assert.Throws<ArgumentException>(() => new RedFlagRule("", "d", [new EnableWhenCondition("a", EnableWhenOperator.Exists, new BooleanAnswer(true))]));
        Assert.Throws<ArgumentException>(() => new RedFlagRule("id", "d", []));
        Assert.Throws<ArgumentException>(() => new RedFlagEvaluator(new RedFlagOptions { Region = (EmergencyRegion)42 }));
        Assert.Throws<ArgumentException>(() => new RedFlagEvaluator(new RedFlagOptions { EmergencyNumber = " " }));
    }

    [Fact]
    public void Advice_and_rules_print_no_answer_values()
    {
        IntakeAnswers answers = WithSymptoms(TelehealthSymptoms.ChestPain, TelehealthSymptoms.ShortnessOfBreath);
        answers.SetString(TelehealthIntake.LinkIds.ChiefComplaint, "CANARY-COMPLAINT");
        EmergencyAdvice advice = new RedFlagEvaluator().Evaluate(answers)!;
        Assert.DoesNotContain("CANARY", advice.ToString() + advice.Message + RedFlagRules.ChestPainWithBreathlessness, StringComparison.Ordinal);
        Assert.DoesNotContain("29857009", advice.ToString(), StringComparison.Ordinal);
    }
}
