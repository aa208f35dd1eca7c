using System.Text.Json;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging.Fhir;

/// <summary>Exports SDK models as FHIR R4 JSON resources.</summary>
public static partial class FhirExport
{
    private const string CommunicationCategorySystem = "http://terminology.hl7.org/CodeSystem/communication-category";

    /// <summary>Exports a message as a FHIR R4 <c>Communication</c> from its sender to <paramref name="recipient"/>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="recipient">Who received it (a conversation may have several; export one Communication each).</param>
    /// <returns>The resource as JSON text; its id is the message id.</returns>
    /// <remarks>
    /// <para>
    /// The payload depends on the content: text → <c>contentString</c>; intake submission → <c>contentReference</c>
    /// to <c>QuestionnaireResponse/{id}</c>; callback request or transition → <c>contentReference</c> to
    /// <c>CommunicationRequest/{id}</c>; attachment → <c>contentAttachment</c> with content type, size and file name
    /// (never the key; the SHA-256 digest is left out because R4 <c>Attachment.hash</c> is SHA-1); receipt → category
    /// <c>notification</c>, <c>inResponseTo</c> every confirmed message and <c>contentString</c> <c>Delivered</c> or <c>Read</c>.
    /// </para>
    /// <para><c>subject</c> is the patient when the sender or the recipient is one.</para>
    /// </remarks>
    /// <exception cref="TelehealthException">The content is <see cref="UnknownContent"/>, which has no FHIR form (<see cref="TelehealthErrorCode.InvalidFormat"/>).</exception>
    public static string ToCommunication(SecureMessage message, Participant recipient)
    {
        ArgumentNullException.ThrowIfNull(message);
        Participant.ThrowIfUnspecified(recipient, nameof(recipient));
        if (message.Content is UnknownContent)
        {
            throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "Content of a type this SDK does not know cannot be exported to FHIR.");
        }

        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "Communication");
            writer.WriteString("id", message.Id.Value);
            var inResponseTo = new List<MessageId>();
            if (message.InResponseTo is { } repliedTo)
            {
                inResponseTo.Add(repliedTo);
            }

            if (message.Content is ReceiptContent receipt)
            {
                foreach (MessageId id in receipt.MessageIds)
                {
                    if (!inResponseTo.Contains(id))
                    {
                        inResponseTo.Add(id);
                    }
                }
            }

            if (inResponseTo.Count > 0)
            {
                writer.WriteStartArray("inResponseTo");
                foreach (MessageId id in inResponseTo)
                {
                    FhirJson.Reference(writer, null, "Communication/" + id.Value);
                }

                writer.WriteEndArray();
            }

            writer.WriteString("status", "completed");
            if (message.Content is ReceiptContent)
            {
                writer.WriteStartArray("category");
                FhirJson.CodeableConcept(writer, CommunicationCategorySystem, "notification", "Notification");
                writer.WriteEndArray();
            }

            Participant? patient = message.Sender.Role == ParticipantRole.Patient ? message.Sender
                : recipient.Role == ParticipantRole.Patient ? recipient
                : null;
            if (patient is { } subject)
            {
                FhirJson.Reference(writer, "subject", subject.FhirReference);
            }

            writer.WriteString("sent", FhirFormat.DateTime(message.SentAt));
            writer.WriteStartArray("recipient");
            FhirJson.Reference(writer, null, recipient.FhirReference);
            writer.WriteEndArray();
            FhirJson.Reference(writer, "sender", message.Sender.FhirReference);
            writer.WriteStartArray("payload");
            writer.WriteStartObject();
            WriteCommunicationPayload(writer, message.Content);
            writer.WriteEndObject();
            writer.WriteEndArray();
        });
    }

    private static void WriteCommunicationPayload(Utf8JsonWriter writer, MessageContent content)
    {
        switch (content)
        {
            case TextContent text:
                writer.WriteString("contentString", text.Text);
                break;
            case IntakeSubmissionContent intake:
                FhirJson.Reference(writer, "contentReference", "QuestionnaireResponse/" + intake.SubmissionId.Value);
                break;
            case CallbackRequestContent callback:
                FhirJson.Reference(writer, "contentReference", "CommunicationRequest/" + callback.Request.Id.Value);
                break;
            case CallbackTransitionContent transition:
                FhirJson.Reference(writer, "contentReference", "CommunicationRequest/" + transition.RequestId.Value);
                break;
            case ReceiptContent receipt:
                writer.WriteString("contentString", receipt.Kind == ReceiptKind.Read ? "Read" : "Delivered");
                break;
            case AttachmentReferenceContent attachment:
                writer.WriteStartObject("contentAttachment");
                writer.WriteString("contentType", attachment.MediaType);

                // Attachment.size is an unsignedInt (32-bit signed range) in R4: larger sizes cannot be stated.
                if (attachment.Size <= int.MaxValue)
                {
                    writer.WriteNumber("size", attachment.Size);
                }

                if (attachment.FileName is not null)
                {
                    writer.WriteString("title", attachment.FileName);
                }

                writer.WriteEndObject();
                break;
            default:
                throw new ArgumentException("The content type has no FHIR form.", nameof(content));
        }
    }
}
