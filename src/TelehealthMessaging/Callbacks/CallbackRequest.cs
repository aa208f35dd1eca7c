using System.Collections.Immutable;
using System.Globalization;

namespace TelehealthMessaging.Callbacks;

/// <summary>
/// A patient's request to be called back by a clinic, with its whole lifecycle. Immutable: every transition returns a
/// new request and leaves this one unchanged.
/// </summary>
/// <remarks>
/// <para>
/// Lifecycle: <see cref="CallbackState.Requested"/> → <see cref="CallbackState.Accepted"/> →
/// <see cref="CallbackState.Scheduled"/> → <see cref="CallbackState.InProgress"/> → <see cref="CallbackState.Completed"/>,
/// with <see cref="CallbackState.NoAnswer"/> and retries up to <see cref="MaxAttempts"/>, and the terminal
/// <see cref="CallbackState.Declined"/>, <see cref="CallbackState.Cancelled"/> and <see cref="CallbackState.Expired"/>.
/// A refused transition throws <see cref="InvalidCallbackTransitionException"/>; every accepted one is appended to
/// <see cref="History"/> with its actor, time and reason.
/// </para>
/// <para><see cref="ToString"/> leaves out the reason and the phone number.</para>
/// </remarks>
public sealed class CallbackRequest
{
    /// <summary>The longest reason accepted, for the request and for each transition.</summary>
    public const int MaxReasonLength = 1000;

    /// <summary>The most preferred windows a request may list.</summary>
    public const int MaxPreferredWindows = 10;

    private readonly ImmutableArray<CallbackWindow> _preferredWindows;
    private readonly ImmutableList<CallbackTransition> _history;

    private CallbackRequest(
        CallbackRequestId id,
        Participant patient,
        Participant clinic,
        string reason,
        PhoneNumber phoneNumber,
        CallbackMedium medium,
        CallbackPriority initialPriority,
        ImmutableArray<CallbackWindow> preferredWindows,
        IntakeSubmissionId? linkedIntakeId,
        DateTimeOffset createdAt,
        int maxAttempts)
    {
        Id = id;
        Patient = patient;
        Clinic = clinic;
        Reason = reason;
        PhoneNumber = phoneNumber;
        Medium = medium;
        InitialPriority = initialPriority;
        Priority = initialPriority;
        _preferredWindows = preferredWindows;
        LinkedIntakeId = linkedIntakeId;
        CreatedAt = createdAt;
        MaxAttempts = maxAttempts;
        State = CallbackState.Requested;
        _history = [];
    }

    private CallbackRequest(CallbackRequest previous, CallbackTransition transition)
    {
        Id = previous.Id;
        Patient = previous.Patient;
        Clinic = previous.Clinic;
        Reason = previous.Reason;
        PhoneNumber = previous.PhoneNumber;
        Medium = previous.Medium;
        InitialPriority = previous.InitialPriority;
        _preferredWindows = previous._preferredWindows;
        LinkedIntakeId = previous.LinkedIntakeId;
        CreatedAt = previous.CreatedAt;
        MaxAttempts = previous.MaxAttempts;

        State = transition.To;
        Priority = transition.Priority ?? previous.Priority;
        ScheduledWindow = transition.Window ?? previous.ScheduledWindow;
        Attempts = transition.Attempt;
        AssignedClinician = transition.Actor.Role == ParticipantRole.Clinician && transition.Action is not (CallbackAction.Cancel or CallbackAction.RaisePriority)
            ? transition.Actor
            : previous.AssignedClinician;
        _history = previous._history.Add(transition);
    }

    /// <summary>The participant recorded as the actor of <see cref="Expire"/>: <c>Device/telehealthmessaging</c> in FHIR.</summary>
    public static Participant SystemActor { get; } = Participant.System(new UserId("telehealthmessaging"));

    /// <summary>The request's identifier (the CommunicationRequest id in FHIR).</summary>
    public CallbackRequestId Id { get; }

    /// <summary>The patient who asked to be called.</summary>
    public Participant Patient { get; }

    /// <summary>The clinic asked to call.</summary>
    public Participant Clinic { get; }

    /// <summary>Why the patient wants a call, in their words (health data).</summary>
    public string Reason { get; }

    /// <summary>The number to call (personal data).</summary>
    public PhoneNumber PhoneNumber { get; }

    /// <summary>Phone or video.</summary>
    public CallbackMedium Medium { get; }

    /// <summary>The current priority; only ever raised after creation.</summary>
    public CallbackPriority Priority { get; }

    /// <summary>When the patient can take the call, in the order given.</summary>
    public IReadOnlyList<CallbackWindow> PreferredWindows => _preferredWindows;

    /// <summary>The intake submission the patient sent with the request, if any.</summary>
    public IntakeSubmissionId? LinkedIntakeId { get; }

    /// <summary>Where the request is in its lifecycle.</summary>
    public CallbackState State { get; }

    /// <summary><see langword="true"/> once the request is completed, declined, cancelled or expired: no transition is possible.</summary>
    public bool IsTerminal => CallbackStateMachine.IsTerminal(State);

    /// <summary>The window of the latest <see cref="Schedule"/>, if any.</summary>
    public CallbackWindow? ScheduledWindow { get; }

    /// <summary>How many call attempts have begun.</summary>
    public int Attempts { get; }

    /// <summary>How many call attempts may begin in all (from <see cref="CallbackPolicy.MaxAttempts"/> when the request was created).</summary>
    public int MaxAttempts { get; }

    /// <summary>The clinician who last accepted, scheduled, called or closed the request, if a clinician (not the clinic account) did.</summary>
    public Participant? AssignedClinician { get; }

    /// <summary>Every transition since creation, oldest first.</summary>
    public IReadOnlyList<CallbackTransition> History => _history;

    /// <summary>When the patient made the request.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>When the request last changed: the time of the latest transition, or <see cref="CreatedAt"/>.</summary>
    public DateTimeOffset LastModified => _history.IsEmpty ? CreatedAt : _history[^1].At;

    // The priority at creation: the starting point when the history is replayed on another device.
    internal CallbackPriority InitialPriority { get; }

    /// <summary>Creates a request in state <see cref="CallbackState.Requested"/>, checking every input at once.</summary>
    /// <param name="patient">The patient asking; role <see cref="ParticipantRole.Patient"/>.</param>
    /// <param name="clinic">The clinic asked; role <see cref="ParticipantRole.Clinic"/>.</param>
    /// <param name="reason">Why the patient wants a call; 1 to <see cref="MaxReasonLength"/> characters, no control characters other than tab and line breaks. Trimmed.</param>
    /// <param name="phoneNumber">The number to call, E.164 (see <see cref="Callbacks.PhoneNumber"/>).</param>
    /// <param name="medium">Phone or video.</param>
    /// <param name="priority">How urgent the call is.</param>
    /// <param name="preferredWindows">1 to <see cref="MaxPreferredWindows"/> windows; each must not have closed yet (a window that has begun is accepted: "from now until 5 pm").</param>
    /// <param name="linkedIntakeId">The intake submission that goes with the request, if any.</param>
    /// <param name="timeProvider">The clock that decides "now".</param>
    /// <param name="policy">The clinic's rules; <see langword="null"/> for the defaults.</param>
    /// <returns>The new request with a new <see cref="Id"/>.</returns>
    /// <exception cref="CallbackValidationException">One or more inputs are invalid; every problem is listed.</exception>
    /// <exception cref="ArgumentException">A participant is missing or has the wrong role, or <paramref name="policy"/> is out of range.</exception>
    public static CallbackRequest Create(
        Participant patient,
        Participant clinic,
        string reason,
        string phoneNumber,
        CallbackMedium medium,
        CallbackPriority priority,
        IEnumerable<CallbackWindow> preferredWindows,
        IntakeSubmissionId? linkedIntakeId,
        TimeProvider timeProvider,
        CallbackPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        policy ??= new CallbackPolicy();
        policy.Validate();
        return CreateCore(
            CallbackRequestId.New(),
            patient,
            clinic,
            reason,
            phoneNumber,
            medium,
            priority,
            preferredWindows,
            linkedIntakeId,
            timeProvider.GetUtcNow(),
            policy.MaxAttempts);
    }

    // Rebuilds a request received from another device: the creation data is checked as of its own creation time and
    // every transition is replayed through Apply, so a received request obeys the same rules as a local one.
    internal static CallbackRequest Restore(
        CallbackRequestId id,
        Participant patient,
        Participant clinic,
        string reason,
        string phoneNumber,
        CallbackMedium medium,
        CallbackPriority initialPriority,
        IEnumerable<CallbackWindow> preferredWindows,
        IntakeSubmissionId? linkedIntakeId,
        DateTimeOffset createdAt,
        int maxAttempts,
        IEnumerable<CallbackTransition> history)
    {
        if (maxAttempts is < 1 or > CallbackPolicy.MaxAttemptsLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAttempts), maxAttempts, "MaxAttempts must be between 1 and 20.");
        }

        CallbackRequest request = CreateCore(id, patient, clinic, reason, phoneNumber, medium, initialPriority, preferredWindows, linkedIntakeId, createdAt, maxAttempts);
        foreach (CallbackTransition transition in history)
        {
            request = request.Apply(transition);
        }

        return request;
    }

    private static CallbackRequest CreateCore(
        CallbackRequestId id,
        Participant patient,
        Participant clinic,
        string reason,
        string phoneNumber,
        CallbackMedium medium,
        CallbackPriority priority,
        IEnumerable<CallbackWindow> preferredWindows,
        IntakeSubmissionId? linkedIntakeId,
        DateTimeOffset now,
        int maxAttempts)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The request id is missing.", nameof(id));
        }

        RequireRole(patient, ParticipantRole.Patient, nameof(patient));
        RequireRole(clinic, ParticipantRole.Clinic, nameof(clinic));
        ArgumentNullException.ThrowIfNull(preferredWindows);

        var errors = new List<CallbackValidationError>();
        string? checkedReason = CheckReason(reason, "reason", required: true, errors);

        PhoneNumber number = default;
        if (string.IsNullOrWhiteSpace(phoneNumber))
        {
            errors.Add(new("phoneNumber", CallbackValidationCodes.Required, "A phone number is required."));
        }
        else if (!PhoneNumber.TryParse(phoneNumber, out number))
        {
            errors.Add(PhoneNumber.InvalidError("phoneNumber"));
        }

        if (!Enum.IsDefined(medium))
        {
            errors.Add(new("medium", CallbackValidationCodes.Invalid, "The medium is not a defined value."));
        }

        if (!Enum.IsDefined(priority))
        {
            errors.Add(new("priority", CallbackValidationCodes.Invalid, "The priority is not a defined value."));
        }

        ImmutableArray<CallbackWindow> windows = [.. preferredWindows];
        if (windows.IsEmpty)
        {
            errors.Add(new("preferredWindows", CallbackValidationCodes.Required, "At least one preferred window is required."));
        }
        else if (windows.Length > MaxPreferredWindows)
        {
            errors.Add(new("preferredWindows", CallbackValidationCodes.TooMany, $"At most {MaxPreferredWindows} preferred windows are allowed."));
        }

        for (int i = 0; i < windows.Length && i < MaxPreferredWindows; i++)
        {
            string field = string.Create(CultureInfo.InvariantCulture, $"preferredWindows[{i}]");
            if (!windows[i].IsSpecified)
            {
                errors.Add(new(field, CallbackValidationCodes.Invalid, "The window is empty (default value)."));
            }
            else if (!windows[i].IsOpenAfter(now))
            {
                errors.Add(new(field, CallbackValidationCodes.InThePast, "The window has already closed."));
            }
        }

        if (linkedIntakeId is { Value: null })
        {
            errors.Add(new("linkedIntakeId", CallbackValidationCodes.Invalid, "The intake submission id is empty (default value)."));
        }

        if (errors.Count > 0)
        {
            throw new CallbackValidationException(errors);
        }

        return new CallbackRequest(id, patient, clinic, checkedReason!, number, medium, priority, windows, linkedIntakeId, now, maxAttempts);
    }

    /// <summary>A clinician or the clinic takes the request: <see cref="CallbackState.Requested"/> → <see cref="CallbackState.Accepted"/>.</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <param name="reason">An optional note.</param>
    /// <returns>The accepted request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it.</exception>
    public CallbackRequest Accept(Participant actor, TimeProvider timeProvider, string? reason = null) =>
        Transit(CallbackAction.Accept, actor, timeProvider, reason);

    /// <summary>Plans the call for <paramref name="window"/>, from <see cref="CallbackState.Accepted"/>, <see cref="CallbackState.Scheduled"/> (re-planning) or <see cref="CallbackState.NoAnswer"/> (a retry while attempts remain).</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="window">When the call will take place; must not have closed yet.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <param name="reason">An optional note.</param>
    /// <returns>The scheduled request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it, or no attempts remain.</exception>
    /// <exception cref="CallbackValidationException"><paramref name="window"/> has closed.</exception>
    public CallbackRequest Schedule(Participant actor, CallbackWindow window, TimeProvider timeProvider, string? reason = null) =>
        Transit(CallbackAction.Schedule, actor, timeProvider, reason, window);

    /// <summary>A call attempt begins, from <see cref="CallbackState.Scheduled"/> or (a retry) <see cref="CallbackState.NoAnswer"/>; counts one attempt.</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <returns>The request in <see cref="CallbackState.InProgress"/>.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it, or <see cref="MaxAttempts"/> attempts have begun.</exception>
    public CallbackRequest Start(Participant actor, TimeProvider timeProvider) =>
        Transit(CallbackAction.Start, actor, timeProvider, reason: null);

    /// <summary>The call attempt was not answered: <see cref="CallbackState.InProgress"/> → <see cref="CallbackState.NoAnswer"/>.</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <param name="reason">An optional note (for example "voicemail left").</param>
    /// <returns>The request in <see cref="CallbackState.NoAnswer"/>.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it.</exception>
    public CallbackRequest RecordNoAnswer(Participant actor, TimeProvider timeProvider, string? reason = null) =>
        Transit(CallbackAction.RecordNoAnswer, actor, timeProvider, reason);

    /// <summary>The call took place: <see cref="CallbackState.InProgress"/> → <see cref="CallbackState.Completed"/>.</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <param name="reason">An optional note.</param>
    /// <returns>The completed request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it.</exception>
    public CallbackRequest Complete(Participant actor, TimeProvider timeProvider, string? reason = null) =>
        Transit(CallbackAction.Complete, actor, timeProvider, reason);

    /// <summary>The clinic refuses the request: <see cref="CallbackState.Requested"/> → <see cref="CallbackState.Declined"/>.</summary>
    /// <param name="actor">A clinician or the request's clinic.</param>
    /// <param name="reason">Why; required.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <returns>The declined request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor's role does not allow it.</exception>
    /// <exception cref="CallbackValidationException"><paramref name="reason"/> is blank or too long.</exception>
    public CallbackRequest Decline(Participant actor, string reason, TimeProvider timeProvider) =>
        Transit(CallbackAction.Decline, actor, timeProvider, reason);

    /// <summary>The patient or the clinic withdraws the request, from any open state except <see cref="CallbackState.InProgress"/>.</summary>
    /// <param name="actor">The request's patient, a clinician or the request's clinic.</param>
    /// <param name="reason">Why; required.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <returns>The cancelled request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state or the actor does not allow it.</exception>
    /// <exception cref="CallbackValidationException"><paramref name="reason"/> is blank or too long.</exception>
    public CallbackRequest Cancel(Participant actor, string reason, TimeProvider timeProvider) =>
        Transit(CallbackAction.Cancel, actor, timeProvider, reason);

    /// <summary>
    /// Ends a request that can no longer take place: allowed from any open state except <see cref="CallbackState.InProgress"/>
    /// once every preferred window and the scheduled window have closed. Recorded with <see cref="SystemActor"/>.
    /// </summary>
    /// <param name="timeProvider">The clock that decides whether windows remain and stamps the transition.</param>
    /// <returns>The expired request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The state does not allow it, or a window is still open.</exception>
    public CallbackRequest Expire(TimeProvider timeProvider) =>
        Transit(CallbackAction.Expire, SystemActor, timeProvider, reason: null);

    /// <summary>Whether <see cref="Expire"/> would succeed now: the request is open, not in a call, and no window remains.</summary>
    /// <param name="timeProvider">The clock that decides "now".</param>
    /// <returns><see langword="true"/> when the request can expire.</returns>
    public bool CanExpire(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return CallbackStateMachine.IsAllowedFrom(CallbackAction.Expire, State) && !HasOpenWindow(timeProvider.GetUtcNow());
    }

    /// <summary>
    /// Raises the priority to at least <paramref name="minimum"/> (for example when the linked intake raises a red flag).
    /// Never lowers it: when the priority is already at or above <paramref name="minimum"/> this request is returned
    /// unchanged and nothing is recorded.
    /// </summary>
    /// <param name="minimum">The lowest priority the request may have afterwards.</param>
    /// <param name="actor">A clinician, the request's clinic or a system actor.</param>
    /// <param name="reason">Why; required.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <returns>The request with the raised priority, or this request.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The request is terminal or the actor's role does not allow it.</exception>
    /// <exception cref="CallbackValidationException"><paramref name="reason"/> is blank or too long.</exception>
    public CallbackRequest RaisePriority(CallbackPriority minimum, Participant actor, string reason, TimeProvider timeProvider)
    {
        if (!Enum.IsDefined(minimum))
        {
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "The priority is not a defined value.");
        }

        // State and role are checked even when nothing would change, so a caller learns about a misuse at once.
        CheckStateAndActor(CallbackAction.RaisePriority, State, actor);
        return minimum <= Priority ? this : Transit(CallbackAction.RaisePriority, actor, timeProvider, reason, priority: minimum);
    }

    /// <summary>
    /// Raises this request to <see cref="CallbackPriority.Stat"/> because the intake linked to it produced
    /// <paramref name="advice"/> (a red flag). Recorded as a system transition whose reason names the rules that
    /// fired, never the answers. A finished request, or one already at stat priority, is returned unchanged.
    /// </summary>
    /// <param name="advice">The red-flag outcome of the linked intake.</param>
    /// <param name="timeProvider">The clock that stamps the transition.</param>
    /// <returns>The escalated request, or this request.</returns>
    public CallbackRequest EscalateFor(Intake.EmergencyAdvice advice, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(advice);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (IsTerminal || Priority == CallbackPriority.Stat)
        {
            return this;
        }

        string reason = "Red flag: " + string.Join(", ", advice.TriggeredRuleIds);
        return RaisePriority(CallbackPriority.Stat, SystemActor, reason.Length <= MaxReasonLength ? reason : reason[..MaxReasonLength], timeProvider);
    }

    /// <summary>
    /// Applies a transition made elsewhere (for example received from another device), with exactly the checks the
    /// transition methods make: its <see cref="CallbackTransition.From"/> must be the current state, the action must be
    /// allowed from it, the actor's role must be permitted and the action's own conditions must hold at <see cref="CallbackTransition.At"/>.
    /// </summary>
    /// <param name="transition">The transition to apply.</param>
    /// <returns>The request after the transition.</returns>
    /// <exception cref="InvalidCallbackTransitionException">The transition is not allowed now or not by this actor.</exception>
    /// <exception cref="CallbackValidationException">Its reason or window is invalid, or its time is before the request was created.</exception>
    public CallbackRequest Apply(CallbackTransition transition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        if (transition.From != State)
        {
            throw Refused(TelehealthErrorCode.InvalidTransition, transition.Action, State, transition.To, transition.Actor.Role,
                $"The transition starts from {transition.From} but the callback request is {State}.");
        }

        CheckStateAndActor(transition.Action, State, transition.Actor);
        CheckGuards(transition);

        var errors = new List<CallbackValidationError>();
        CheckReason(transition.Reason, "reason", required: transition.Action is CallbackAction.Decline or CallbackAction.Cancel or CallbackAction.RaisePriority, errors);
        if (transition.At < CreatedAt)
        {
            errors.Add(new("at", CallbackValidationCodes.Invalid, "A transition cannot happen before the request was created."));
        }

        if (transition.Window is { } window && !window.IsOpenAfter(transition.At))
        {
            errors.Add(new("window", CallbackValidationCodes.InThePast, "The window has already closed."));
        }

        if (errors.Count > 0)
        {
            throw new CallbackValidationException(errors);
        }

        return new CallbackRequest(this, transition);
    }

    /// <summary>Describes the request without its reason or phone number.</summary>
    /// <returns>The id, state, priority, medium and attempts.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"CallbackRequest {{ Id = {Id}, State = {State}, Priority = {Priority}, Medium = {Medium}, Attempts = {Attempts}/{MaxAttempts} }}");

    private CallbackRequest Transit(
        CallbackAction action,
        Participant actor,
        TimeProvider timeProvider,
        string? reason,
        CallbackWindow? window = null,
        CallbackPriority? priority = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        Participant.ThrowIfUnspecified(actor, nameof(actor));
        if (window is { IsSpecified: false })
        {
            throw new ArgumentException("The window is empty (default value).", nameof(window));
        }

        // State and role come first so that an impossible transition is reported as such, not as a bad reason.
        CheckStateAndActor(action, State, actor);
        int attempt = action == CallbackAction.Start ? Attempts + 1 : Attempts;
        var transition = new CallbackTransition(
            action, State, CallbackStateMachine.Target(action, State), actor, timeProvider.GetUtcNow(), reason, window, attempt, priority);
        return Apply(transition);
    }

    private void CheckStateAndActor(CallbackAction action, CallbackState from, Participant actor)
    {
        Participant.ThrowIfUnspecified(actor, nameof(actor));
        CallbackState to = CallbackStateMachine.Target(action, from);
        if (!CallbackStateMachine.IsAllowedFrom(action, from))
        {
            throw Refused(TelehealthErrorCode.InvalidTransition, action, from, to, actor.Role,
                $"{action} is not allowed when a callback request is {from} (transition {from} -> {to}).");
        }

        if (!CallbackStateMachine.IsAllowedFor(action, actor.Role))
        {
            throw Refused(TelehealthErrorCode.NotPermitted, action, from, to, actor.Role,
                $"A participant in the {actor.Role} role may not {action} a callback request (transition {from} -> {to}).");
        }

        // Roles name one party of this request: a patient or clinic account may act only on its own requests.
        bool isOtherParty = (actor.Role == ParticipantRole.Patient && actor.Id != Patient.Id)
            || (actor.Role == ParticipantRole.Clinic && actor.Id != Clinic.Id);
        if (isOtherParty)
        {
            throw Refused(TelehealthErrorCode.NotPermitted, action, from, to, actor.Role,
                $"A {actor.Role} that is not party to this callback request may not {action} it (transition {from} -> {to}).");
        }
    }

    private void CheckGuards(CallbackTransition transition)
    {
        switch (transition.Action)
        {
            case CallbackAction.Start or CallbackAction.Schedule when Attempts >= MaxAttempts:
                throw Refused(TelehealthErrorCode.InvalidTransition, transition.Action, State, transition.To, transition.Actor.Role,
                    $"All {MaxAttempts} call attempts have been used; {transition.Action} is not allowed (transition {State} -> {transition.To}).");
            case CallbackAction.Expire when HasOpenWindow(transition.At):
                throw Refused(TelehealthErrorCode.InvalidTransition, transition.Action, State, transition.To, transition.Actor.Role,
                    $"A window is still open, so the callback request cannot expire (transition {State} -> {transition.To}).");
            case CallbackAction.RaisePriority when transition.Priority <= Priority:
                throw Refused(TelehealthErrorCode.InvalidTransition, transition.Action, State, transition.To, transition.Actor.Role,
                    $"RaisePriority must raise the priority above {Priority} (transition {State} -> {transition.To}).");
        }

        int expectedAttempt = transition.Action == CallbackAction.Start ? Attempts + 1 : Attempts;
        if (transition.Attempt != expectedAttempt)
        {
            throw Refused(TelehealthErrorCode.InvalidTransition, transition.Action, State, transition.To, transition.Actor.Role,
                $"The transition records attempt {transition.Attempt} but attempt {expectedAttempt} was expected (transition {State} -> {transition.To}).");
        }
    }

    private bool HasOpenWindow(DateTimeOffset now) =>
        _preferredWindows.Any(w => w.IsOpenAfter(now)) || (ScheduledWindow is { } scheduled && scheduled.IsOpenAfter(now));

    private static InvalidCallbackTransitionException Refused(
        TelehealthErrorCode code, CallbackAction action, CallbackState from, CallbackState to, ParticipantRole role, string message) =>
        new(code, action, from, to, role, message);

    private static void RequireRole(Participant participant, ParticipantRole role, string paramName)
    {
        Participant.ThrowIfUnspecified(participant, paramName);
        if (participant.Role != role)
        {
            throw new ArgumentException($"The participant must have the {role} role.", paramName);
        }
    }

    private static string? CheckReason(string? reason, string field, bool required, List<CallbackValidationError> errors)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            if (required)
            {
                errors.Add(new(field, CallbackValidationCodes.Required, "A reason is required."));
            }

            return null;
        }

        string trimmed = reason.Trim();
        if (trimmed.Length > MaxReasonLength)
        {
            errors.Add(new(field, CallbackValidationCodes.TooLong, $"A reason may have at most {MaxReasonLength} characters."));
        }

        if (trimmed.Any(c => char.IsControl(c) && c is not ('\t' or '\r' or '\n')))
        {
            errors.Add(new(field, CallbackValidationCodes.Invalid, "A reason may not contain control characters other than tab and line breaks."));
        }

        return trimmed;
    }
}
