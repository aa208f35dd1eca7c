using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Fhir;

/// <summary>Exports SDK models as FHIR R4 JSON resources.</summary>
public static partial class FhirExport
{
    /// <summary>The code system of the callback states carried in <c>Task.businessStatus</c>; its codes are listed in docs/callbacks.md.</summary>
    internal const string CallbackStateSystem = "https://telehealthmessaging.github.io/fhir/CodeSystem/callback-state";

    private const string TaskCodeSystem = "http://hl7.org/fhir/CodeSystem/task-code";

    /// <summary>
    /// Exports the workflow state of a callback request as a FHIR R4 <c>Task</c> that fulfils the request's
    /// <c>CommunicationRequest</c> (<see cref="ToCommunicationRequest"/>).
    /// </summary>
    /// <param name="request">The request whose workflow to export.</param>
    /// <returns>The resource as JSON text; its id is the request's id.</returns>
    /// <remarks>
    /// <para>
    /// Status: Requested → <c>requested</c>; Accepted and Scheduled → <c>accepted</c>; InProgress → <c>in-progress</c>;
    /// NoAnswer → <c>in-progress</c> while attempts remain, else <c>failed</c>; Completed → <c>completed</c>;
    /// Declined → <c>rejected</c>; Cancelled → <c>cancelled</c>; Expired → <c>failed</c>. <c>businessStatus</c>
    /// always carries the exact state (for example <c>scheduled</c>, <c>no-answer</c>).
    /// </para>
    /// <para>
    /// Intent is <c>order</c>: the Task is the clinic's actionable instruction to fulfil the patient's request, not a
    /// proposal or a plan. The owner is the assigned clinician, or the clinic until a clinician takes the request.
    /// </para>
    /// </remarks>
    public static string ToTask(CallbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string communicationRequest = "CommunicationRequest/" + request.Id.Value;
        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "Task");
            writer.WriteString("id", request.Id.Value);
            writer.WriteStartArray("basedOn");
            FhirJson.Reference(writer, null, communicationRequest);
            writer.WriteEndArray();
            writer.WriteString("status", TaskStatus(request));
            (string code, string display) = CallbackStateCode(request.State);
            FhirJson.CodeableConcept(writer, CallbackStateSystem, code, display, "businessStatus", display);
            writer.WriteString("intent", "order");
            writer.WriteString("priority", RequestPriorityCode(request.Priority));
            FhirJson.CodeableConcept(writer, TaskCodeSystem, "fulfill", "Fulfill the focal request", "code");
            FhirJson.Reference(writer, "focus", communicationRequest);
            FhirJson.Reference(writer, "for", request.Patient.FhirReference);

            DateTimeOffset? firstCall = request.History.FirstOrDefault(t => t.Action == CallbackAction.Start)?.At;
            DateTimeOffset? ended = request.IsTerminal ? request.LastModified : null;
            if (firstCall is not null || ended is not null)
            {
                FhirJson.Period(writer, "executionPeriod", firstCall, ended);
            }

            writer.WriteString("authoredOn", FhirFormat.DateTime(request.CreatedAt));
            writer.WriteString("lastModified", FhirFormat.DateTime(request.LastModified));
            FhirJson.Reference(writer, "requester", request.Patient.FhirReference);
            FhirJson.Reference(writer, "owner", (request.AssignedClinician ?? request.Clinic).FhirReference);
            if (request.LinkedIntakeId is { } intake)
            {
                FhirJson.Reference(writer, "reasonReference", "QuestionnaireResponse/" + intake.Value);
            }

            if (request.ScheduledWindow is { } window)
            {
                writer.WriteStartObject("restriction");
                FhirJson.Period(writer, "period", window);
                writer.WriteEndObject();
            }
        });
    }

    private static string TaskStatus(CallbackRequest request) => request.State switch
    {
        CallbackState.Requested => "requested",
        CallbackState.Accepted or CallbackState.Scheduled => "accepted",
        CallbackState.InProgress => "in-progress",
        CallbackState.NoAnswer => request.Attempts < request.MaxAttempts ? "in-progress" : "failed",
        CallbackState.Completed => "completed",
        CallbackState.Declined => "rejected",
        CallbackState.Cancelled => "cancelled",
        CallbackState.Expired => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(request)),
    };

    internal static (string Code, string Display) CallbackStateCode(CallbackState state) => state switch
    {
        CallbackState.Requested => ("requested", "Requested"),
        CallbackState.Accepted => ("accepted", "Accepted"),
        CallbackState.Scheduled => ("scheduled", "Scheduled"),
        CallbackState.InProgress => ("in-progress", "In progress"),
        CallbackState.NoAnswer => ("no-answer", "No answer"),
        CallbackState.Completed => ("completed", "Completed"),
        CallbackState.Declined => ("declined", "Declined"),
        CallbackState.Cancelled => ("cancelled", "Cancelled"),
        CallbackState.Expired => ("expired", "Expired"),
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
