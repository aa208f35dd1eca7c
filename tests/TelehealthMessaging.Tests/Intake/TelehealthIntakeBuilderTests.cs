using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Infrastructure;

namespace TelehealthMessaging.Tests.Intake;

public class TelehealthIntakeBuilderTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 11, 26, 4, 0, 0, TimeSpan.Zero));

    internal static TelehealthIntakeBuilder Complete()
    {
        var intake = new TelehealthIntakeBuilder
        {
            GivenName = "Minji",
            FamilyName = "Kim",
            BirthDate = new DateOnly(1990, 2, 3),
            Sex = AdministrativeSex.Female,
            Phone = "+82 10-1234-5678",
            PreferredLanguage = "ko",
            ChiefComplaint = "Headache and fever since yesterday",
            Pregnancy = PregnancyStatus.NotPregnant,
            ConsentToTelehealth = true,
            ConsentToDataProcessing = true,
        };
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.Headache, 6) { Onset = new DateOnly(2026, 11, 25), Duration = SymptomDuration.Days(1) });
        intake.Symptoms.Add(new SymptomReport("ringing in the ears", 3));
        intake.Allergies.Add("Penicillin (rash)");
        intake.TakesMedications = false;
        return intake;
    }

    [Fact]
    public void The_built_in_form_loads_from_the_package()
    {
        IntakeForm form = TelehealthIntake.Form;
        Assert.Equal(TelehealthIntake.Url, form.Url);
        Assert.Same(form, TelehealthIntake.Form);
        foreach (string linkId in typeof(TelehealthIntake.LinkIds).GetFields().Select(f => (string)f.GetRawConstantValue()!))
        {
            Assert.NotNull(form.FindItem(linkId));
        }
    }

    [Fact]
    public void A_complete_intake_is_valid_and_exports_a_valid_questionnaire_response_and_patient()
    {
        IntakeAnswers answers = Complete().ToAnswers();
        Assert.Empty(answers.Validate().Problems);

        IntakeSubmission submission = IntakeSubmission.Create(answers, new UserId("patient-1"), Time);
        string response = FhirExport.ToQuestionnaireResponse(submission);
        fhir.AssertValid(response);

        string patient = FhirExport.ToPatient(submission);
        fhir.AssertValid(patient);
        using JsonDocument doc = JsonDocument.Parse(patient);
        JsonElement root = doc.RootElement;
        Assert.Equal("patient-1", root.GetProperty("id").GetString());
        Assert.Equal("Kim", root.GetProperty("name")[0].GetProperty("family").GetString());
        Assert.Equal("Minji", root.GetProperty("name")[0].GetProperty("given")[0].GetString());
        Assert.Equal("female", root.GetProperty("gender").GetString());
        Assert.Equal("1990-02-03", root.GetProperty("birthDate").GetString());
        Assert.Equal("+821012345678", root.GetProperty("telecom")[0].GetProperty("value").GetString());
        Assert.Equal("ko", root.GetProperty("communication")[0].GetProperty("language").GetProperty("coding")[0].GetProperty("code").GetString());
    }

    [Fact]
    public void Typed_entries_land_on_the_right_items()
    {
        IntakeAnswers answers = Complete().ToAnswers();
        Assert.Equal("+821012345678", answers.GetString(TelehealthIntake.LinkIds.Phone));
        Assert.Equal("female", answers.GetCoding(TelehealthIntake.LinkIds.Sex)!.Code);
        Assert.True(answers.GetBoolean(TelehealthIntake.LinkIds.HasAllergies));
        Assert.Equal(["Penicillin (rash)"], answers.GetAnswers(TelehealthIntake.LinkIds.Allergies).Cast<StringAnswer>().Select(a => a.Value));
        Assert.False(answers.GetBoolean(TelehealthIntake.LinkIds.TakesMedications));
        Assert.False(answers.IsEnabled(TelehealthIntake.LinkIds.Medications));

        IReadOnlyList<IntakeAnswerReader> symptoms = answers.GetGroupInstances(TelehealthIntake.LinkIds.Symptoms);
        Assert.Equal(2, symptoms.Count);
        Assert.Equal(TelehealthSymptoms.Headache, symptoms[0].GetCoding(TelehealthIntake.LinkIds.SymptomCode));
        Assert.Equal(6, symptoms[0].GetInteger(TelehealthIntake.LinkIds.SymptomSeverity));
        Assert.Equal(new DateOnly(2026, 11, 25), symptoms[0].GetDate(TelehealthIntake.LinkIds.SymptomOnset));
        Quantity duration = symptoms[0].GetQuantity(TelehealthIntake.LinkIds.SymptomDuration)!;
        Assert.Equal((1m, "d"), (duration.Value, duration.Code));
        Assert.Equal("ringing in the ears", symptoms[1].GetString(TelehealthIntake.LinkIds.SymptomCode));
    }

    [Fact]
    public void An_empty_builder_reports_every_required_item()
    {
        IntakeValidationResult result = new TelehealthIntakeBuilder().ToAnswers().Validate();
        string[] paths = [.. result.Problems.Where(p => p.Code == IntakeProblemCode.Required).Select(p => p.Path)];
        Assert.Contains(TelehealthIntake.LinkIds.GivenName, paths);
        Assert.Contains(TelehealthIntake.LinkIds.FamilyName, paths);
        Assert.Contains(TelehealthIntake.LinkIds.BirthDate, paths);
        Assert.Contains(TelehealthIntake.LinkIds.Sex, paths);
        Assert.Contains(TelehealthIntake.LinkIds.Phone, paths);
        Assert.Contains(TelehealthIntake.LinkIds.ChiefComplaint, paths);
        Assert.Contains(TelehealthIntake.LinkIds.HasAllergies, paths);
        Assert.Contains(TelehealthIntake.LinkIds.TakesMedications, paths);
        Assert.Contains(TelehealthIntake.LinkIds.ConsentToTelehealth, paths);
        Assert.Contains(TelehealthIntake.LinkIds.ConsentToDataProcessing, paths);
        // Hidden until answered: pregnancy depends on sex, the lists on their yes/no questions.
        Assert.DoesNotContain(TelehealthIntake.LinkIds.PregnancyStatus, paths);
        Assert.DoesNotContain(TelehealthIntake.LinkIds.Allergies, paths);
    }

    [Fact]
    public void Pregnancy_is_not_asked_of_male_patients_and_not_exported()
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.Sex = AdministrativeSex.Male;
        IntakeAnswers answers = intake.ToAnswers();
        Assert.False(answers.IsEnabled(TelehealthIntake.LinkIds.PregnancyStatus));
        Assert.Empty(answers.Validate().Problems);
        string response = FhirExport.ToQuestionnaireResponse(IntakeSubmission.Create(answers, new UserId("p2"), Time));
        Assert.DoesNotContain("pregnancy", response, StringComparison.Ordinal);
    }

    [Fact]
    public void A_female_patient_must_answer_the_pregnancy_question()
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.Pregnancy = null;
        IntakeProblem problem = Assert.Single(intake.ToAnswers().Validate().Problems);
        Assert.Equal((TelehealthIntake.LinkIds.PregnancyStatus, IntakeProblemCode.Required), (problem.Path, problem.Code));
    }

    [Theory]
    [InlineData("010-1234-5678")]
    [InlineData("+0 12345678")]
    [InlineData("+82 10 1234 5678 9999")]
    [InlineData("call me")]
    public void A_phone_number_that_is_not_e164_is_a_pattern_problem(string phone)
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.Phone = phone;
        IntakeProblem problem = Assert.Single(intake.ToAnswers().Validate().Problems);
        Assert.Equal((TelehealthIntake.LinkIds.Phone, IntakeProblemCode.PatternMismatch), (problem.Path, problem.Code));
        Assert.DoesNotContain(phone, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, IntakeProblemCode.BelowMinimum)]
    [InlineData(11, IntakeProblemCode.AboveMaximum)]
    public void Severity_outside_0_to_10_is_reported_on_its_symptom(int severity, IntakeProblemCode code)
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.Cough, severity));
        IntakeProblem problem = Assert.Single(intake.ToAnswers().Validate().Problems);
        Assert.Equal(("symptoms[2]/symptom.severity", code), (problem.Path, problem.Code));
    }

    [Fact]
    public void A_language_not_in_the_list_is_kept_as_free_text()
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.PreferredLanguage = "mn";
        IntakeAnswers answers = intake.ToAnswers();
        Assert.Empty(answers.Validate().Problems);
        Assert.Equal("mn", answers.GetString(TelehealthIntake.LinkIds.PreferredLanguage));
        fhir.AssertValid(FhirExport.ToPatient(IntakeSubmission.Create(answers, new UserId("p3"), Time)));
    }

    [Fact]
    public void Saying_yes_to_allergies_without_listing_any_is_a_problem()
    {
        var intake = Complete();
        intake.Allergies.Clear();
        intake.HasAllergies = true;
        IntakeProblem problem = Assert.Single(intake.ToAnswers().Validate().Problems);
        Assert.Equal((TelehealthIntake.LinkIds.Allergies, IntakeProblemCode.Required), (problem.Path, problem.Code));
    }

    [Fact]
    public void Builder_and_reports_never_print_what_the_patient_entered()
    {
        TelehealthIntakeBuilder intake = Complete();
        intake.GivenName = "CANARY-NAME";
        intake.Symptoms.Add(new SymptomReport("CANARY-SYMPTOM", 4) { Duration = SymptomDuration.Weeks(42) });
        string printed = string.Join("|", intake.ToString(), intake.Symptoms[^1].ToString(), SymptomDuration.Weeks(42).ToString());
        Assert.DoesNotContain("CANARY", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("42", printed, StringComparison.Ordinal);
    }
}
