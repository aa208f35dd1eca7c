using System.Text.Json;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Messaging.MessageFixtures;

namespace TelehealthMessaging.Tests.Messaging;

public class CommunicationExportTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    private static readonly Participant Clinic = Tests.Callbacks.CallbackFixtures.Clinic;

    public static TheoryData<string> ContentTypes() => new(OnePerContentType().Select(m => m.Name));

    [Theory]
    [MemberData(nameof(ContentTypes))]
    public void Every_content_type_exports_as_a_valid_communication(string contentType)
    {
        fhir.AssertValid(FhirExport.ToCommunication(Message(contentType), Clinician));
    }

    [Theory]
    [InlineData(ParticipantRole.Patient)]
    [InlineData(ParticipantRole.Clinician)]
    [InlineData(ParticipantRole.Clinic)]
    [InlineData(ParticipantRole.System)]
    public void Every_participant_role_is_a_valid_sender_and_recipient(ParticipantRole role)
    {
        var participant = new Participant(new UserId("p-" + role.ToString().ToLowerInvariant()), role);
        var message = new SecureMessage(new MessageId("m-9"), ConversationIdentifier, participant, Device, DateTimeOffset.UnixEpoch, new TextContent("Hello"));

        fhir.AssertValid(FhirExport.ToCommunication(message, participant));
    }

    [Fact]
    public void A_text_message_carries_sender_recipient_time_reply_and_text()
    {
        using var doc = JsonDocument.Parse(FhirExport.ToCommunication(Message("text"), Clinician));
        JsonElement root = doc.RootElement;

        Assert.Equal("m-text", root.GetProperty("id").GetString());
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("sender").GetProperty("reference").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("subject").GetProperty("reference").GetString());
        Assert.Equal("Practitioner/clinician-1", root.GetProperty("recipient")[0].GetProperty("reference").GetString());
        Assert.Equal("2026-03-02T10:15:30.25+01:00", root.GetProperty("sent").GetString());
        Assert.Equal("Communication/m-0", root.GetProperty("inResponseTo")[0].GetProperty("reference").GetString());
        Assert.Equal(TextCanary, root.GetProperty("payload")[0].GetProperty("contentString").GetString());
    }

    [Theory]
    [InlineData("intake-submission", "QuestionnaireResponse/intake-1")]
    [InlineData("callback-request", "CommunicationRequest/")]
    [InlineData("callback-transition", "CommunicationRequest/")]
    public void Structured_content_is_referenced_rather_than_copied(string contentType, string referencePrefix)
    {
        SecureMessage message = Message(contentType);
        using var doc = JsonDocument.Parse(FhirExport.ToCommunication(message, Clinic));

        string? reference = doc.RootElement.GetProperty("payload")[0].GetProperty("contentReference").GetProperty("reference").GetString();
        Assert.StartsWith(referencePrefix, reference, StringComparison.Ordinal);
        Assert.DoesNotContain(AnswerCanary, doc.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_attachment_exports_type_size_and_name_but_never_the_key_or_the_sha256_digest()
    {
        string json = FhirExport.ToCommunication(Message("attachment-reference"), Clinician);
        using var doc = JsonDocument.Parse(json);
        JsonElement attachment = doc.RootElement.GetProperty("payload")[0].GetProperty("contentAttachment");

        Assert.Equal("image/jpeg", attachment.GetProperty("contentType").GetString());
        Assert.Equal(48_213, attachment.GetProperty("size").GetInt64());
        Assert.Equal(FileNameCanary, attachment.GetProperty("title").GetString());
        Assert.False(attachment.TryGetProperty("hash", out _));
        Assert.DoesNotContain(Convert.ToBase64String(KeyCanary), json, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Digest), json, StringComparison.Ordinal);
    }

    [Fact]
    public void An_attachment_larger_than_fhir_unsigned_int_omits_its_size()
    {
        var message = new SecureMessage(new MessageId("m-big"), ConversationIdentifier, Patient, Device, DateTimeOffset.UnixEpoch, Attachment(size: 5_000_000_000));
        string json = FhirExport.ToCommunication(message, Clinician);

        fhir.AssertValid(json);
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.GetProperty("payload")[0].GetProperty("contentAttachment").TryGetProperty("size", out _));
    }

    [Fact]
    public void A_receipt_is_a_notification_in_response_to_every_confirmed_message()
    {
        using var doc = JsonDocument.Parse(FhirExport.ToCommunication(Message("receipt"), Clinician));
        JsonElement root = doc.RootElement;

        Assert.Equal(
            new[] { "Communication/m-0", "Communication/m-1", "Communication/m-2" },
            root.GetProperty("inResponseTo").EnumerateArray().Select(r => r.GetProperty("reference").GetString()!).ToArray());
        Assert.Equal("notification", root.GetProperty("category")[0].GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("Read", root.GetProperty("payload")[0].GetProperty("contentString").GetString());
    }

    [Fact]
    public void A_message_between_clinic_staff_has_no_subject()
    {
        var message = new SecureMessage(new MessageId("m-staff"), ConversationIdentifier, Clinician, Device, DateTimeOffset.UnixEpoch, new TextContent("Hello"));
        using var doc = JsonDocument.Parse(FhirExport.ToCommunication(message, Clinic));
        Assert.False(doc.RootElement.TryGetProperty("subject", out _));
        Assert.False(doc.RootElement.TryGetProperty("inResponseTo", out _));
    }

    [Fact]
    public void Unknown_content_cannot_be_exported()
    {
        var message = new SecureMessage(
            new MessageId("m-u"), ConversationIdentifier, Patient, Device, DateTimeOffset.UnixEpoch, new UnknownContent("poll", """{"type":"poll"}"""));

        var ex = Assert.Throws<TelehealthException>(() => FhirExport.ToCommunication(message, Clinician));
        Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
    }
}
