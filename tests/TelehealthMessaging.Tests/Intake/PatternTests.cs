using TelehealthMessaging.Intake;
using static TelehealthMessaging.Tests.Intake.TestForms;

namespace TelehealthMessaging.Tests.Intake;

public class PatternTests
{
    private const string PostalCode = """ "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[0-9]{5}" } ] """;

    [Theory]
    [InlineData("12345", true)]
    [InlineData("1234", false)]
    [InlineData("123456", false)]
    [InlineData("x12345", false)]
    public void Text_answers_must_match_the_regex_extension_in_full(string value, bool valid)
    {
        IntakeForm form = Load(Item("zip", "string", PostalCode));
        Assert.Equal("[0-9]{5}", form.GetItem("zip").Pattern);
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetString("zip", value);
        IReadOnlyList<IntakeProblem> problems = answers.Validate().Problems;
        Assert.Equal(valid, problems.Count == 0);
        if (!valid)
        {
            Assert.Equal(IntakeProblemCode.PatternMismatch, Assert.Single(problems).Code);
            Assert.DoesNotContain(value, problems[0].Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_form_with_an_invalid_regex_is_refused_when_loaded()
    {
        string broken = """ "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "([0-9" } ] """;
        var ex = Assert.Throws<TelehealthException>(() => Load(Item("zip", "string", broken)));
        Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
    }

    [Fact]
    public void A_catastrophic_pattern_cannot_stall_validation()
    {
        string evil = """ "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "(a+)+b" } ] """;
        IntakeAnswers answers = IntakeAnswers.Create(Load(Item("q", "string", evil)));
        answers.SetString("q", new string('a', 40000) + "c");
        // The bounded match gives up and reports a mismatch instead of running for minutes.
        Assert.Equal(IntakeProblemCode.PatternMismatch, Assert.Single(answers.Validate().Problems).Code);
    }
}
