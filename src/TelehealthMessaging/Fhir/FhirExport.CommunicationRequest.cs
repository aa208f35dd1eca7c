using System.Text.Json;
using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Fhir;

/// <summary>Exports SDK models as FHIR R4 JSON resources.</summary>
public static partial class FhirExport
{
    private const string ParticipationModeSystem = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode";

    /// <summary>
    /// Exports a callback request as a FHIR R4 <c>CommunicationRequest</c>: the patient asks the clinic to call them.
    /// The workflow state travels in the companion <c>Task</c> (<see cref="ToTask"/>).
    /// </summary>
    /// <param name="request">The request to export.</param>
    /// <returns>The resource as JSON text; its id is the request's id.</returns>
    /// <remarks>
    /// The status is <c>active</c> while the request is open, <c>completed</c> once the call took place and
    /// <c>revoked</c> once it was declined, cancelled or expired. The linked intake is referenced from <c>about</c>:
    /// R4 limits <c>reasonReference</c> to Condition, Observation, DiagnosticReport and DocumentReference, so a
    /// QuestionnaireResponse cannot be put there. The patient's reason is the payload text.
    /// </remarks>
    public static string ToCommunicationRequest(CallbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SecureMessagingJson.Build(writer =>
        {
            writer.WriteString("resourceType", "CommunicationRequest");
            writer.WriteString("id", request.Id.Value);
            writer.WriteString("status", CommunicationRequestStatus(request.State));
            if (request.State is CallbackState.Declined or CallbackState.Cancelled or CallbackState.Expired)
            {
                writer.WriteStartObject("statusReason");
                writer.WriteString("text", request.State.ToString());
                writer.WriteEndObject();
            }

            writer.WriteString("priority", RequestPriorityCode(request.Priority));
            writer.WriteStartArray("medium");
            (string code, string display) = request.Medium == CallbackMedium.Video ? ("VIDEOCONF", "videoconferencing") : ("PHONE", "telephone");
            SecureMessagingJson.CodeableConcept(writer, ParticipationModeSystem, code, display);
            writer.WriteEndArray();
            SecureMessagingJson.Reference(writer, "subject", request.Patient.FhirReference);
            if (request.LinkedIntakeId is { } intake)
            {
                writer.WriteStartArray("about");
                SecureMessagingJson.Reference(writer, null, "QuestionnaireResponse/" + intake.Value);
                writer.WriteEndArray();
            }

            writer.WriteStartArray("payload");
            writer.WriteStartObject();
            writer.WriteString("contentString", request.Reason);
            writer.WriteEndObject();
            writer.WriteEndArray();
            SecureMessagingJson.Period(writer, "occurrencePeriod", request.ScheduledWindow ?? request.PreferredWindows[0]);
            writer.WriteString("authoredOn", FhirFormat.DateTime(request.CreatedAt));
            SecureMessagingJson.Reference(writer, "requester", request.Patient.FhirReference);
            writer.WriteStartArray("recipient");
            SecureMessagingJson.Reference(writer, null, request.Clinic.FhirReference);
            writer.WriteEndArray();
        });
    }

    // FHIR request-priority codes are the enum names in lower case.
    internal static string RequestPriorityCode(CallbackPriority priority) => priority switch
    {
        CallbackPriority.Routine => "routine",
        CallbackPriority.Urgent => "urgent",
        CallbackPriority.Asap => "asap",
        CallbackPriority.Stat => "stat",
        _ => throw new ArgumentOutOfRangeException(nameof(priority)),
    };

    private static string CommunicationRequestStatus(CallbackState state) => state switch
    {
        CallbackState.Requested or CallbackState.Accepted or CallbackState.Scheduled or CallbackState.InProgress or CallbackState.NoAnswer => "active",
        CallbackState.Completed => "completed",
        CallbackState.Declined or CallbackState.Cancelled or CallbackState.Expired => "revoked",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    // Helpers shared by the callback and message exporters; nested so that other partial files of FhirExport can
    // use their own names freely.
    private static class SecureMessagingJson
    {
        public static string Build(Action<Utf8JsonWriter> writeBody)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writeBody(writer);
                writer.WriteEndObject();
            }

            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        // propertyName null: the reference is an array item.
        public static void Reference(Utf8JsonWriter writer, string? propertyName, string reference)
        {
            if (propertyName is null)
            {
                writer.WriteStartObject();
            }
            else
            {
                writer.WriteStartObject(propertyName);
            }

            writer.WriteString("reference", reference);
            writer.WriteEndObject();
        }

        public static void Period(Utf8JsonWriter writer, string propertyName, CallbackWindow window) =>
            Period(writer, propertyName, window.Start, window.End);

        public static void Period(Utf8JsonWriter writer, string propertyName, DateTimeOffset? start, DateTimeOffset? end)
        {
            writer.WriteStartObject(propertyName);
            if (start is { } s)
            {
                writer.WriteString("start", FhirFormat.DateTime(s));
            }

            if (end is { } e)
            {
                writer.WriteString("end", FhirFormat.DateTime(e));
            }

            writer.WriteEndObject();
        }

        // An array item CodeableConcept when propertyName is null.
        public static void CodeableConcept(Utf8JsonWriter writer, string system, string code, string display, string? propertyName = null, string? text = null)
        {
            if (propertyName is null)
            {
                writer.WriteStartObject();
            }
            else
            {
                writer.WriteStartObject(propertyName);
            }

            writer.WriteStartArray("coding");
            writer.WriteStartObject();
            writer.WriteString("system", system);
            writer.WriteString("code", code);
            writer.WriteString("display", display);
            writer.WriteEndObject();
            writer.WriteEndArray();
            if (text is not null)
            {
                writer.WriteString("text", text);
            }

            writer.WriteEndObject();
        }
    }
}
