using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging;

/// <summary>
/// Callback requests: patients request and cancel; clinicians accept (claiming the request: the first accept wins),
/// schedule, start, record no-answer, complete or decline. Each step is checked by <see cref="CallbackRequest"/>'s
/// state machine on this device and again on every receiving device. Reached through <see cref="TelehealthClient.Callbacks"/>.
/// </summary>
public sealed class CallbacksClient
{
    private const string Collection = "callbacks";
    private readonly TelehealthClient _client;

    internal CallbacksClient(TelehealthClient client) => _client = client;

    /// <summary>Requests a callback from a clinic (patients). Returns once the request is in the durable outbox.</summary>
    /// <param name="clinic">The clinic.</param>
    /// <param name="reason">Why (health data: stays end-to-end encrypted).</param>
    /// <param name="phoneNumber">The number to call, E.164.</param>
    /// <param name="preferredWindows">When the patient can take the call.</param>
    /// <param name="medium">Phone or video.</param>
    /// <param name="priority">How urgent.</param>
    /// <param name="linkedIntake">The intake this follows up, if any.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The request.</returns>
    /// <exception cref="CallbackValidationException">A field is invalid; nothing is sent.</exception>
    public async Task<CallbackRequest> RequestAsync(
        ClinicId clinic,
        string reason,
        string phoneNumber,
        IEnumerable<CallbackWindow> preferredWindows,
        CallbackMedium medium = CallbackMedium.Phone,
        CallbackPriority priority = CallbackPriority.Routine,
        IntakeSubmissionId? linkedIntake = null,
        CancellationToken cancellationToken = default)
    {
        if (_client.Role != ParticipantRole.Patient)
        {
            throw new TelehealthException(TelehealthErrorCode.NotPermitted, "Only a patient requests a callback.");
        }

        CallbackRequest request = CallbackRequest.Create(_client.Self, Participant.Clinic(new UserId(clinic.Value)), reason, phoneNumber, medium, priority, preferredWindows, linkedIntake, _client.Time);
        Conversation conversation = await _client.Conversations.OpenWithClinicAsync(clinic, cancellationToken).ConfigureAwait(false);
        SecureMessage message = SecureMessage.Create(conversation.Id, _client.Self, _client.Device, new CallbackRequestContent(request), _client.Time);
        await _client.StoreOwnCallbackAsync(conversation.Id, message, cancellationToken).ConfigureAwait(false);
        await _client.EnqueueMessageAsync(TelehealthClient.RouteOf(conversation), message, recordInHistory: true, cancellationToken).ConfigureAwait(false);
        return request;
    }

    /// <summary>
    /// Accepts a request (clinicians of its clinic): claims it first; the first claim wins. When another clinician's
    /// claim won, nothing changes and the result names them.
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The winning claim.</returns>
    public async Task<ClaimResult> AcceptAsync(CallbackRequestId id, CancellationToken cancellationToken = default)
    {
        ConversationId conversation = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        ClaimResult claim = await _client.ClaimWorkItemAsync(conversation, Collection, id.Value, cancellationToken).ConfigureAwait(false);
        if (claim.IsOwn)
        {
            await TransitionAsync(id, r => r.State == CallbackState.Requested ? r.Accept(_client.Self, _client.Time) : r, cancellationToken).ConfigureAwait(false);
        }

        return claim;
    }

    /// <summary>Schedules the call in a window (the clinician who accepted it).</summary>
    public Task<CallbackRequest> ScheduleAsync(CallbackRequestId id, CallbackWindow window, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.Schedule(_client.Self, window, _client.Time), cancellationToken);

    /// <summary>Starts the call (the clinician who accepted it).</summary>
    public Task<CallbackRequest> StartAsync(CallbackRequestId id, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.Start(_client.Self, _client.Time), cancellationToken);

    /// <summary>Records that the patient did not answer.</summary>
    public Task<CallbackRequest> RecordNoAnswerAsync(CallbackRequestId id, string? reason = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.RecordNoAnswer(_client.Self, _client.Time, reason), cancellationToken);

    /// <summary>Completes the call.</summary>
    public Task<CallbackRequest> CompleteAsync(CallbackRequestId id, string? note = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.Complete(_client.Self, _client.Time, note), cancellationToken);

    /// <summary>Declines the request (clinicians).</summary>
    public Task<CallbackRequest> DeclineAsync(CallbackRequestId id, string reason, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.Decline(_client.Self, reason, _client.Time), cancellationToken);

    /// <summary>Cancels the request (the patient).</summary>
    public Task<CallbackRequest> CancelAsync(CallbackRequestId id, string reason, CancellationToken cancellationToken = default) =>
        TransitionAsync(id, r => r.Cancel(_client.Self, reason, _client.Time), cancellationToken);

    /// <summary>A request as this device knows it, or <see langword="null"/>.</summary>
    public async Task<CallbackRequest?> GetAsync(CallbackRequestId id, CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (id.Value is null || await data.FindWorkItemConversationAsync(Collection, id.Value, cancellationToken).ConfigureAwait(false) is not ConversationId conversation)
        {
            return null;
        }

        WorkItemRecord? record = await data.GetWorkItemAsync(conversation, Collection, id.Value, cancellationToken).ConfigureAwait(false);
        return record is null ? null : Read(record);
    }

    /// <summary>The requests this device knows, optionally only those in one state, most recently changed first.</summary>
    public async Task<IReadOnlyList<CallbackRequest>> ListAsync(CallbackState? state = null, CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await data.ListWorkItemsAsync(Collection, cancellationToken).ConfigureAwait(false))
            .Select(i => Read(i.Record))
            .Where(r => state is null || r.State == state)
            .OrderByDescending(r => r.LastModified)
            .ToList();
    }

    /// <summary>Who claimed a request, or <see langword="null"/> while unclaimed.</summary>
    public async Task<ClaimResult?> GetClaimAsync(CallbackRequestId id, CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        ConversationId conversation = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        WorkItemRecord? record = await data.GetWorkItemAsync(conversation, Collection, id.Value, cancellationToken).ConfigureAwait(false);
        return record is null ? null : _client.ToClaim(record);
    }

    private static CallbackRequest Read(WorkItemRecord record) => ((CallbackRequestContent)MessageSerializer.Deserialize(record.Message).Content).Request;

    private async Task<CallbackRequest> TransitionAsync(CallbackRequestId id, Func<CallbackRequest, CallbackRequest> step, CancellationToken cancellationToken)
    {
        ConversationId conversationId = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        return await _client.ApplyOwnTransitionAsync(conversationId, id, step, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ConversationId> FindAsync(CallbackRequestId id, CancellationToken cancellationToken)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The request id must not be the default value.", nameof(id));
        }

        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.FindWorkItemConversationAsync(Collection, id.Value, cancellationToken).ConfigureAwait(false)
            ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "No callback request with that id is known to this device.");
    }
}
