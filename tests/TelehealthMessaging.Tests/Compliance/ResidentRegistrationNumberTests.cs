using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

public class ResidentRegistrationNumberTests
{
    [Theory]
    [InlineData("900101-1234568", true, true)] // 1990 male, check digit holds
    [InlineData("9001011234568", true, true)] // no separator
    [InlineData("900101 1234568", true, true)] // space
    [InlineData("ID: 900101-1234568.", true, true)] // inside text, punctuation around
    [InlineData("주민번호900101-1234568입니다", true, true)] // Hangul directly around
    [InlineData("840719-2345678", true, false)] // 1984 female, no valid check digit (as issued since October 2020)
    [InlineData("000229-3123454", true, true)] // 2000 was a leap year
    [InlineData("990101-9123456", true, true)] // 1899, century digit 9
    [InlineData("850101-5123450", true, true)] // foreign resident, check digit (13 - sum) mod 10
    [InlineData("000229-1123454", false, false)] // 1900 was not a leap year
    [InlineData("010229-3123454", false, false)] // nor was 2001
    [InlineData("901301-1234568", false, false)] // month 13
    [InlineData("900100-1234568", false, false)] // day 0
    [InlineData("900431-1234568", false, false)] // 31 April
    [InlineData("900101-123456", false, false)] // twelve digits
    [InlineData("19900101-1234568", false, false)] // inside a longer run of digits (before)
    [InlineData("90010112345689", false, false)] // fourteen digits
    [InlineData("900101-12345689", false, false)] // inside a longer run of digits (after)
    [InlineData("900101--1234568", false, false)] // two separators
    [InlineData("900101_1234568", false, false)] // another separator
    [InlineData("010-1234-5678", false, false)] // a phone number
    [InlineData("", false, false)]
    public void Finds_numbers_with_a_real_birth_date_in_every_format_and_nothing_else(string text, bool found, bool checksum)
    {
        IReadOnlyList<SensitiveIdentifierMatch> matches = new ResidentRegistrationNumberDetector().Find(text);

        Assert.Equal(found ? 1 : 0, matches.Count);
        if (found)
        {
            string matched = text.Substring(matches[0].Start, matches[0].Length);
            Assert.Equal(text.Where(char.IsAsciiDigit), matched.Where(char.IsAsciiDigit));
            Assert.Equal(checksum, matches[0].HasValidChecksum);
        }
    }

    [Theory]
    [InlineData("900101-1234568", true)]
    [InlineData("900101-1234567", false)] // wrong check digit
    [InlineData("840719-2345678", false)]
    [InlineData("850101-5123450", true)]
    [InlineData("850101-5123459", false)]
    [InlineData("201001-4123455", true)] // born from October 2020: no check digit exists, accepted
    [InlineData("211015-3123450", true)]
    [InlineData("200930-3123450", false)] // born before October 2020: the check digit is required
    [InlineData("200930-3123451", true)]
    public void Checksum_validation_requires_the_check_digit_for_births_before_October_2020(string text, bool found)
    {
        var strict = new ResidentRegistrationNumberDetector(ResidentRegistrationNumberValidation.Checksum);
        Assert.Equal(found, strict.Contains(text));
        Assert.True(new ResidentRegistrationNumberDetector().Contains(text));
    }

    [Fact]
    public void Finds_every_number_in_a_text_in_order()
    {
        IReadOnlyList<SensitiveIdentifierMatch> matches = new ResidentRegistrationNumberDetector().Find("a 900101-1234568, b 8407192345678 c 000229 3123454");
        Assert.Equal([2, 20, 36], matches.Select(m => m.Start));
        Assert.Equal([14, 13, 14], matches.Select(m => m.Length));
    }

    [Fact]
    public void Finds_numbers_in_free_text_answers_of_intakes_including_repeating_groups()
    {
        IntakeAnswers answers = CanaryAnswers();
        IntakeGroupAnswers second = answers.AddGroup(TelehealthIntake.LinkIds.Symptoms);
        second.SetString(TelehealthIntake.LinkIds.SymptomCode, "rash since 900101 1234568");
        second.SetInteger(TelehealthIntake.LinkIds.SymptomSeverity, 2);

        IReadOnlyList<IntakeIdentifierFinding> findings = new ResidentRegistrationNumberDetector().Find(answers);

        Assert.Equal(
            [("chief-complaint", "chief-complaint[0]"), ("symptom.code", "symptoms[1]/symptom.code[0]")],
            findings.Select(f => (f.LinkId, f.Path)));
        Assert.DoesNotContain("900101", string.Join(" ", findings), StringComparison.Ordinal);

        IntakeSubmission submission = IntakeSubmission.Create(answers, Patient, new FakeTimeProvider(Start));
        Assert.Equal(findings, new ResidentRegistrationNumberDetector().Find(submission.Answers));
    }

    [Fact]
    public void Warn_reports_and_leaves_the_text_unchanged()
    {
        var policy = new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Warn);
        SensitiveTextResult result = policy.Apply("mine is 900101-1234568");
        Assert.Equal("mine is 900101-1234568", result.Text);
        Assert.Single(result.Matches);
        Assert.DoesNotContain("900101", result.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mine is 900101-1234568.", "mine is 900101-1******.")]
    [InlineData("9001011234568", "9001011******")]
    [InlineData("900101 1234568 and 840719-2345678", "900101 1****** and 840719-2******")]
    [InlineData("no number 12345", "no number 12345")]
    public void Mask_keeps_birth_date_and_gender_digit_and_hides_the_rest(string text, string masked)
    {
        Assert.Equal(masked, new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Mask).Apply(text).Text);
    }

    [Fact]
    public void Refuse_throws_a_typed_error_that_names_the_field_and_no_digit()
    {
        var policy = new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Refuse);
        var ex = Assert.Throws<TelehealthException>(() => policy.Apply("call 900101-1234568", "message.text"));
        Assert.Equal(TelehealthErrorCode.SensitiveIdentifierRefused, ex.ErrorCode);
        Assert.Contains("message.text", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ex.Message, char.IsAsciiDigit);
        Assert.Equal("no number here", policy.Apply("no number here").Text);
    }

    [Fact]
    public void Intake_answers_are_masked_in_place_or_refused_unchanged()
    {
        IntakeAnswers refused = CanaryAnswers();
        var ex = Assert.Throws<TelehealthException>(() => new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Refuse).Apply(refused));
        Assert.Equal(TelehealthErrorCode.SensitiveIdentifierRefused, ex.ErrorCode);
        Assert.Contains("chief-complaint", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("840719", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ResidentNumberCanary, refused.GetString(TelehealthIntake.LinkIds.ChiefComplaint), StringComparison.Ordinal);

        IntakeAnswers masked = CanaryAnswers();
        IReadOnlyList<IntakeIdentifierFinding> findings = new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Mask).Apply(masked);
        Assert.Single(findings);
        Assert.Equal($"{ComplaintCanary}: my number is 840719-2******, please call", masked.GetString(TelehealthIntake.LinkIds.ChiefComplaint));
        Assert.Equal(PhoneCanary, masked.GetString(TelehealthIntake.LinkIds.Phone));

        IntakeAnswers warned = CanaryAnswers();
        Assert.Single(new SensitiveIdentifierPolicy(SensitiveIdentifierMode.Warn).Apply(warned));
        Assert.Contains(ResidentNumberCanary, warned.GetString(TelehealthIntake.LinkIds.ChiefComplaint), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SensitiveIdentifierMode.Warn, false)]
    [InlineData(SensitiveIdentifierMode.Mask, true)]
    [InlineData(SensitiveIdentifierMode.Refuse, true)]
    public void A_submitted_intake_with_a_number_is_refused_unless_the_policy_only_warns(SensitiveIdentifierMode mode, bool throws)
    {
        IntakeSubmission submission = CanarySubmission(new FakeTimeProvider(Start));
        var policy = new SensitiveIdentifierPolicy(mode);
        if (throws)
        {
            Assert.Equal(TelehealthErrorCode.SensitiveIdentifierRefused, Assert.Throws<TelehealthException>(() => policy.Check(submission)).ErrorCode);
        }
        else
        {
            Assert.Equal("chief-complaint", Assert.Single(policy.Check(submission)).LinkId);
        }
    }

    [Fact]
    public void Undefined_modes_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SensitiveIdentifierPolicy((SensitiveIdentifierMode)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResidentRegistrationNumberDetector((ResidentRegistrationNumberValidation)7));
    }
}
