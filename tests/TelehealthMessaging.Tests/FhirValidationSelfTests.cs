using TelehealthMessaging.Tests.Infrastructure;

namespace TelehealthMessaging.Tests;

// Proves the validator used by the export tests can fail: a test that cannot fail proves nothing.
public class FhirValidationSelfTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    [Fact]
    public void Accepts_a_minimal_valid_patient()
    {
        fhir.AssertValid("""{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1990-02-03"}""");
    }

    [Fact]
    public void Reports_an_invalid_code_and_a_bad_date()
    {
        var errors = fhir.Errors("""{"resourceType":"Patient","id":"p1","gender":"woman","birthDate":"1990-13-45"}""");
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Reports_a_questionnaire_response_without_status()
    {
        var errors = fhir.Errors("""{"resourceType":"QuestionnaireResponse","id":"qr1"}""");
        Assert.NotEmpty(errors);
    }
}
