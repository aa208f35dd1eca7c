using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Intake;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class EnableWhenTests
{
    private static readonly string[] Operators = ["=", "!=", ">", "<", ">=", "<="];

    // Per comparable type: the item type, the condition's answer JSON, and answers below, equal to and above it.
    private static readonly (string Type, string Condition, IntakeAnswerValue Lower, IntakeAnswerValue Equal, IntakeAnswerValue Higher)[] OrderedTypes =
    [
        ("integer", "\"answerInteger\": 5", new IntegerAnswer(4), new IntegerAnswer(5), new IntegerAnswer(6)),
        ("integer", "\"answerDecimal\": 5.0", new IntegerAnswer(4), new IntegerAnswer(5), new IntegerAnswer(6)),
        ("decimal", "\"answerDecimal\": 37.5", new DecimalAnswer(37.4m), new DecimalAnswer(37.50m), new DecimalAnswer(38m)),
        ("decimal", "\"answerInteger\": 38", new DecimalAnswer(37.9m), new DecimalAnswer(38m), new DecimalAnswer(38.1m)),
        ("date", "\"answerDate\": \"2026-03-10\"", new DateAnswer(new DateOnly(2026, 3, 9)), new DateAnswer(new DateOnly(2026, 3, 10)), new DateAnswer(new DateOnly(2027, 1, 1))),
        ("dateTime", "\"answerDateTime\": \"2026-03-10T10:00:00Z\"", new DateTimeAnswer(new DateTimeOffset(2026, 3, 10, 9, 59, 59, TimeSpan.Zero)), new DateTimeAnswer(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.FromHours(2))), new DateTimeAnswer(new DateTimeOffset(2026, 3, 10, 10, 0, 1, TimeSpan.Zero))),
        ("time", "\"answerTime\": \"12:00:00\"", new TimeAnswer(new TimeOnly(11, 59)), new TimeAnswer(new TimeOnly(12, 0)), new TimeAnswer(new TimeOnly(12, 0, 1))),
        ("string", "\"answerString\": \"m\"", new StringAnswer("l"), new StringAnswer("m"), new StringAnswer("n")),
        ("quantity", "\"answerQuantity\": { \"value\": 70, \"unit\": \"kg\", \"system\": \"http://unitsofmeasure.org\", \"code\": \"kg\" }", new QuantityAnswer(new Quantity(69.5m, "kg", "http://unitsofmeasure.org", "kg")), new QuantityAnswer(new Quantity(70m, "kilograms", "http://unitsofmeasure.org", "kg")), new QuantityAnswer(new Quantity(71m, "kg", "http://unitsofmeasure.org", "kg"))),
    ];

    public static TheoryData<string, string, string, string, IntakeAnswerValue, bool> OrderedCases()
    {
        var data = new TheoryData<string, string, string, string, IntakeAnswerValue, bool>();
        foreach (var (type, condition, lower, equal, higher) in OrderedTypes)
        {
            foreach (string op in Operators)
            {
                foreach (var (relation, value) in new[] { ("lower", lower), ("equal", equal), ("higher", higher) })
                {
                    bool expected = op switch
                    {
                        "=" => relation == "equal",
                        "!=" => relation != "equal",
                        ">" => relation == "higher",
                        "<" => relation == "lower",
                        ">=" => relation != "lower",
                        _ => relation != "higher",
                    };
                    data.Add(type, condition, op, relation, value, expected);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(OrderedCases))]
    public void Every_operator_compares_every_ordered_type(string type, string condition, string op, string relation, IntakeAnswerValue answer, bool expected)
    {
        _ = relation;
        IntakeForm form = Load(Item("source", type), Item("target", "string", $$""" "enableWhen": [{{EnableWhen("source", op, condition)}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        answers.Set("source", answer);

        Assert.Equal(expected, answers.IsEnabled("target"));
    }

    public static TheoryData<string, string, string, IntakeAnswerValue, bool> UnorderedCases => new()
    {
        { "boolean", "\"answerBoolean\": true", "=", new BooleanAnswer(true), true },
        { "boolean", "\"answerBoolean\": true", "=", new BooleanAnswer(false), false },
        { "boolean", "\"answerBoolean\": true", "!=", new BooleanAnswer(false), true },
        { "boolean", "\"answerBoolean\": true", "!=", new BooleanAnswer(true), false },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "=", new CodingAnswer(new Coding("http://s", "a", "display ignored")), true },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "=", new CodingAnswer(new Coding(null, "a")), true },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "=", new CodingAnswer(new Coding("http://other", "a")), false },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "=", new CodingAnswer(new Coding("http://s", "b")), false },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "!=", new CodingAnswer(new Coding("http://s", "b")), true },
        { "choice", "\"answerCoding\": { \"system\": \"http://s\", \"code\": \"a\" }", "!=", new CodingAnswer(new Coding("http://s", "a")), false },
        { "open-choice", "\"answerCoding\": { \"code\": \"a\" }", "!=", new StringAnswer("free text"), true },
        { "reference", "\"answerReference\": { \"reference\": \"Practitioner/1\" }", "=", new ReferenceAnswer("Practitioner/1"), true },
        { "reference", "\"answerReference\": { \"reference\": \"Practitioner/1\" }", "!=", new ReferenceAnswer("Practitioner/2"), true },
        { "url", "\"answerUri\": \"http://a.example\"", "=", new UriAnswer(new Uri("http://a.example")), true },
        { "quantity", "\"answerQuantity\": { \"value\": 70, \"unit\": \"kg\" }", "=", new QuantityAnswer(new Quantity(70m, "lb")), false },
        { "quantity", "\"answerQuantity\": { \"value\": 70, \"unit\": \"kg\" }", ">", new QuantityAnswer(new Quantity(170m, "lb")), false },
    };

    [Theory]
    [MemberData(nameof(UnorderedCases))]
    public void Equality_operators_compare_booleans_codings_references_urls_and_quantities_in_other_units(string type, string condition, string op, IntakeAnswerValue answer, bool expected)
    {
        IntakeForm form = Load(Item("source", type), Item("target", "string", $$""" "enableWhen": [{{EnableWhen("source", op, condition)}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        answers.Set("source", answer);

        Assert.Equal(expected, answers.IsEnabled("target"));
    }

    [Theory]
    [InlineData("=")]
    [InlineData("!=")]
    [InlineData(">")]
    [InlineData("<")]
    [InlineData(">=")]
    [InlineData("<=")]
    public void Comparison_operators_do_not_hold_without_an_answer(string op)
    {
        IntakeForm form = Load(Item("source", "integer"), Item("target", "string", $$""" "enableWhen": [{{EnableWhen("source", op, "\"answerInteger\": 1")}}] """));

        Assert.False(IntakeAnswers.Create(form).IsEnabled("target"));
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    [InlineData(false, true, false)]
    public void Exists_checks_for_any_answer(bool conditionAnswer, bool answered, bool expected)
    {
        string condition = conditionAnswer ? "\"answerBoolean\": true" : "\"answerBoolean\": false";
        IntakeForm form = Load(Item("source", "string"), Item("target", "string", $$""" "enableWhen": [{{EnableWhen("source", "exists", condition)}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        if (answered)
        {
            answers.SetString("source", "x");
        }

        Assert.Equal(expected, answers.IsEnabled("target"));
    }

    [Theory]
    [InlineData("all", false, false, false)]
    [InlineData("all", true, false, false)]
    [InlineData("all", false, true, false)]
    [InlineData("all", true, true, true)]
    [InlineData("any", false, false, false)]
    [InlineData("any", true, false, true)]
    [InlineData("any", false, true, true)]
    [InlineData("any", true, true, true)]
    public void EnableBehavior_combines_conditions(string behavior, bool first, bool second, bool expected)
    {
        IntakeForm form = Load(
            Item("a", "boolean"),
            Item("b", "boolean"),
            Item("target", "string", $$"""
                "enableWhen": [{{EnableWhen("a", "=", "\"answerBoolean\": true")}}, {{EnableWhen("b", "=", "\"answerBoolean\": true")}}],
                "enableBehavior": "{{behavior}}"
                """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("a", first);
        answers.SetBoolean("b", second);

        Assert.Equal(expected, answers.IsEnabled("target"));
    }

    [Fact]
    public void A_condition_may_read_a_question_in_another_group()
    {
        IntakeForm form = Load(
            Group("history", "", Item("smoker", "boolean")),
            Group("plan", "", Item("quit", "boolean", $$""" "enableWhen": [{{EnableWhen("smoker", "=", "\"answerBoolean\": true")}}] """)));
        IntakeAnswers answers = IntakeAnswers.Create(form);

        Assert.False(answers.IsEnabled("quit"));
        answers.SetBoolean("smoker", true);
        Assert.True(answers.IsEnabled("quit"));
    }

    [Fact]
    public void A_condition_on_a_question_in_a_repeating_group_holds_when_any_instance_satisfies_it()
    {
        IntakeForm form = Load(
            Group("symptoms", "\"repeats\": true", Item("severity", "integer")),
            Item("urgent", "boolean", $$""" "enableWhen": [{{EnableWhen("severity", ">", "\"answerInteger\": 7")}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.AddGroup("symptoms").SetInteger("severity", 3);
        IntakeGroupAnswers second = answers.AddGroup("symptoms");
        second.SetInteger("severity", 5);

        Assert.False(answers.IsEnabled("urgent"));
        second.SetInteger("severity", 9);
        Assert.True(answers.IsEnabled("urgent"));
    }

    [Fact]
    public void A_condition_inside_a_repeating_group_reads_its_own_instance()
    {
        IntakeForm form = Load(
            Group("medications", "\"repeats\": true", Item("prescribed", "boolean"), Item("prescriber", "string", $$""" "enableWhen": [{{EnableWhen("prescribed", "=", "\"answerBoolean\": true")}}] """)));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        IntakeGroupAnswers first = answers.AddGroup("medications");
        IntakeGroupAnswers second = answers.AddGroup("medications");
        first.SetBoolean("prescribed", true);
        second.SetBoolean("prescribed", false);

        Assert.True(first.IsEnabled("prescriber"));
        Assert.False(second.IsEnabled("prescriber"));
    }

    [Fact]
    public void A_disabled_group_disables_its_descendants_and_a_disabled_question_counts_as_unanswered()
    {
        IntakeForm form = Load(
            Item("pregnant", "boolean"),
            Group("pregnancy", $$""" "enableWhen": [{{EnableWhen("pregnant", "=", "\"answerBoolean\": true")}}] """, Item("weeks", "integer")),
            Item("weeksNote", "string", $$""" "enableWhen": [{{EnableWhen("weeks", "exists", "\"answerBoolean\": true")}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("pregnant", true);
        answers.SetInteger("weeks", 12);

        Assert.True(answers.IsEnabled("weeks"));
        Assert.True(answers.IsEnabled("weeksNote"));

        answers.SetBoolean("pregnant", false);

        Assert.False(answers.IsEnabled("pregnancy"));
        Assert.False(answers.IsEnabled("weeks"));
        Assert.False(answers.IsEnabled("weeksNote"));
    }

    [Fact]
    public void A_required_item_hidden_by_enableWhen_is_not_required()
    {
        IntakeForm form = Load(
            Item("allergies", "boolean", "\"required\": true"),
            Item("allergyList", "string", $$""" "required": true, "enableWhen": [{{EnableWhen("allergies", "=", "\"answerBoolean\": true")}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("allergies", false);

        Assert.True(answers.Validate().IsValid);

        answers.SetBoolean("allergies", true);
        IntakeProblem problem = Assert.Single(answers.Validate().Problems);
        Assert.Equal(new IntakeProblem("allergyList", IntakeProblemCode.Required, problem.Message), problem);
    }

    [Fact]
    public void Answers_to_items_hidden_by_enableWhen_are_ignored_by_validation_and_not_submitted()
    {
        IntakeForm form = Load(
            Item("allergies", "boolean"),
            Item("allergyList", "string", $$""" "maxLength": 3, "enableWhen": [{{EnableWhen("allergies", "=", "\"answerBoolean\": true")}}] """));
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetBoolean("allergies", true);
        answers.SetString("allergyList", "far too long");
        Assert.False(answers.Validate().IsValid);

        answers.SetBoolean("allergies", false);
        Assert.True(answers.Validate().IsValid);

        IntakeSubmission submission = IntakeSubmission.Create(answers, new UserId("p1"), new FakeTimeProvider());
        Assert.Empty(submission.Answers.GetAnswers("allergyList"));
        Assert.Equal(false, submission.Answers.GetBoolean("allergies"));
        Assert.DoesNotContain("allergyList", Fhir.FhirExport.ToQuestionnaireResponse(submission), StringComparison.Ordinal);
    }
}
