using System.Text.Json.Nodes;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

public class IntakePseudonymizerTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] OtherKey = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();

    private static string Exported(IntakeSubmissionId? id = null) => FhirExport.ToQuestionnaireResponse(CanarySubmission(Clock(), id ?? new IntakeSubmissionId("intake-1")));

    private static string Pseudonymized(byte[] key, string json)
    {
        using var pseudonymizer = new IntakePseudonymizer(key);
        return pseudonymizer.Pseudonymize(json);
    }

    [Fact]
    public void No_direct_identifier_survives_and_the_output_is_still_valid_fhir()
    {
        string original = Exported();
        Assert.Contains(GivenNameCanary, original, StringComparison.Ordinal);

        string output = Pseudonymized(Key, original);

        foreach (string canary in new[] { GivenNameCanary, FamilyNameCanary, PhoneCanary, "1055501234", ResidentNumberCanary, "840719", "1984-07-19", "patient-1" })
        {
            Assert.DoesNotContain(canary, output, StringComparison.OrdinalIgnoreCase);
        }

        fhir.AssertValid(output);
        JsonNode root = JsonNode.Parse(output)!;
        JsonNode patient = root["item"]!.AsArray().Single(i => (string?)i!["linkId"] == "patient")!;
        string? Answer(string linkId, string value) =>
            (string?)patient["item"]!.AsArray().Single(i => (string?)i!["linkId"] == linkId)!["answer"]![0]![value];

        Assert.StartsWith("PSN-", Answer(TelehealthIntake.LinkIds.GivenName, "valueString"), StringComparison.Ordinal);
        Assert.StartsWith("PSN-", Answer(TelehealthIntake.LinkIds.Phone, "valueString"), StringComparison.Ordinal);
        Assert.Equal("1984", Answer(TelehealthIntake.LinkIds.BirthDate, "valueDate"));
        Assert.Equal("male", (string?)patient["item"]!.AsArray().Single(i => (string?)i!["linkId"] == TelehealthIntake.LinkIds.Sex)!["answer"]![0]!["valueCoding"]!["code"]);

        string complaint = (string)root["item"]!.AsArray().Single(i => (string?)i!["linkId"] == TelehealthIntake.LinkIds.ChiefComplaint)!["answer"]![0]!["valueString"]!;
        Assert.Matches($"^{ComplaintCanary}: my number is RRN-[0-9a-f]{{32}}, please call$", complaint);
        Assert.Matches("^Patient/[0-9a-f]{32}$", (string)root["subject"]!["reference"]!);
        Assert.Equal((string?)root["subject"]!["reference"], (string?)root["author"]!["reference"]);
    }

    [Fact]
    public void The_same_key_gives_the_same_pseudonyms_and_another_key_different_ones()
    {
        string first = Pseudonymized(Key, Exported());
        Assert.Equal(first, Pseudonymized(Key, Exported()));
        Assert.NotEqual(first, Pseudonymized(OtherKey, Exported()));

        // Two intakes of the same person stay linkable under one key.
        string other = Pseudonymized(Key, Exported(new IntakeSubmissionId("intake-2")));
        Assert.Equal(JsonNode.Parse(first)!["subject"]!.ToJsonString(), JsonNode.Parse(other)!["subject"]!.ToJsonString());
        Assert.Equal(JsonNode.Parse(first)!["item"]![0]!.ToJsonString(), JsonNode.Parse(other)!["item"]![0]!.ToJsonString());
    }

    [Fact]
    public void Identifying_items_are_found_by_definition_in_any_form_and_other_items_are_copied()
    {
        IntakeForm form = IntakeForm.Parse("""
            { "resourceType": "Questionnaire", "url": "http://example.org/q", "status": "active", "item": [
              { "linkId": "addr", "type": "group", "definition": "http://example.org/StructureDefinition/kr-patient#Patient.address", "item": [
                { "linkId": "city", "type": "string" } ] },
              { "linkId": "guardian", "type": "string", "definition": "http://hl7.org/fhir/StructureDefinition/RelatedPerson#RelatedPerson.name.text" },
              { "linkId": "weight", "type": "decimal", "definition": "http://hl7.org/fhir/StructureDefinition/Observation#Observation.valueQuantity.value" },
              { "linkId": "note", "type": "text" } ] }
            """);
        IntakeAnswers answers = IntakeAnswers.Create(form);
        answers.SetString("city", "CANARY-CITY");
        answers.SetString("guardian", "CANARY-GUARDIAN");
        answers.SetDecimal("weight", 71.5m);
        answers.SetString("note", "no identifiers here");
        string output = Pseudonymized(Key, FhirExport.ToQuestionnaireResponse(IntakeSubmission.Create(answers, Patient, Clock())));

        Assert.DoesNotContain("CANARY", output, StringComparison.Ordinal);
        Assert.Contains("71.5", output, StringComparison.Ordinal);
        Assert.Contains("no identifiers here", output, StringComparison.Ordinal);
        fhir.AssertValid(output);
    }

    [Fact]
    public void Narrative_contained_resources_identifiers_and_displays_are_not_copied()
    {
        string input = """
            { "resourceType": "QuestionnaireResponse", "id": "r1", "status": "completed",
              "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">CANARY-NARRATIVE</div>" },
              "identifier": { "system": "http://example.org/mrn", "value": "CANARY-MRN" },
              "subject": { "reference": "Patient/CANARY-ID", "display": "CANARY-DISPLAY" } }
            """;

        string output = Pseudonymized(Key, input);

        Assert.DoesNotContain("CANARY", output, StringComparison.Ordinal);
        Assert.Contains("http://example.org/mrn", output, StringComparison.Ordinal);
        fhir.AssertValid(output);
    }

    [Fact]
    public void Input_that_is_not_a_questionnaire_response_and_short_keys_are_refused()
    {
        using var pseudonymizer = new IntakePseudonymizer(Key);
        Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.Throws<TelehealthException>(() => pseudonymizer.Pseudonymize("{ not json")).ErrorCode);
        Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.Throws<TelehealthException>(() => pseudonymizer.Pseudonymize("""{ "resourceType": "Patient" }""")).ErrorCode);
        Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.Throws<TelehealthException>(() => pseudonymizer.Pseudonymize("[]")).ErrorCode);
        Assert.Throws<ArgumentException>(() => new IntakePseudonymizer(new byte[31]));

        pseudonymizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pseudonymizer.Pseudonymize(Exported()));
    }
}
