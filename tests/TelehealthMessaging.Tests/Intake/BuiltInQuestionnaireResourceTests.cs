using TelehealthMessaging.Tests.Infrastructure;

namespace TelehealthMessaging.Tests.Intake;

public class BuiltInQuestionnaireResourceTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    private static string ReadEmbedded()
    {
        using Stream stream = typeof(TelehealthException).Assembly.GetManifestResourceStream("TelehealthMessaging.Intake.telehealth-intake.json")
            ?? throw new InvalidOperationException("The built-in intake questionnaire is not embedded in the package.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Fact]
    public void The_built_in_intake_is_shipped_as_a_valid_fhir_r4_questionnaire()
    {
        fhir.AssertValid(ReadEmbedded());
    }
}
