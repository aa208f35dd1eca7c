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
        return FhirJson.Build(writer =>
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
            FhirJson.CodeableConcept(writer, ParticipationModeSystem, code, display);
            writer.WriteEndArray();
            FhirJson.Reference(writer, "subject", request.Patient.FhirReference);
            if (request.LinkedIntakeId is { } intake)
            {
                writer.WriteStartArray("about");
                FhirJson.Reference(writer, null, "QuestionnaireResponse/" + intake.Value);
                writer.WriteEndArray();
            }

            writer.WriteStartArray("payload");
            writer.WriteStartObject();
            writer.WriteString("contentString", request.Reason);
            writer.WriteEndObject();
            writer.WriteEndArray();
            FhirJson.Period(writer, "occurrencePeriod", request.ScheduledWindow ?? request.PreferredWindows[0]);
            writer.WriteString("authoredOn", FhirFormat.DateTime(request.CreatedAt));
            FhirJson.Reference(writer, "requester", request.Patient.FhirReference);
            writer.WriteStartArray("recipient");
            FhirJson.Reference(writer, null, request.Clinic.FhirReference);
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
}
