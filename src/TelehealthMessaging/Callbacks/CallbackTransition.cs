namespace TelehealthMessaging.Callbacks;

/// <summary>One step in a callback request's history: what happened, who did it, when and why.</summary>
/// <remarks>
/// Transitions travel between devices inside messages; <see cref="CallbackRequest.Apply"/> checks a received one
/// exactly as the transition methods check a local one. <see cref="ToString"/> leaves out the reason.
/// </remarks>
public sealed record CallbackTransition
{
    /// <summary>Creates a transition record.</summary>
    /// <param name="action">What happened.</param>
    /// <param name="from">The state before.</param>
    /// <param name="to">The state after: the state <paramref name="action"/> leads to (the same state for <see cref="CallbackAction.RaisePriority"/>).</param>
    /// <param name="actor">Who did it.</param>
    /// <param name="at">When it happened.</param>
    /// <param name="reason">Why, in the actor's words; required for <see cref="CallbackAction.Decline"/>, <see cref="CallbackAction.Cancel"/> and <see cref="CallbackAction.RaisePriority"/>.</param>
    /// <param name="window">The window planned; required for <see cref="CallbackAction.Schedule"/> and only allowed there.</param>
    /// <param name="attempt">How many call attempts had begun after this transition.</param>
    /// <param name="priority">The new priority; required for <see cref="CallbackAction.RaisePriority"/> and only allowed there.</param>
    /// <exception cref="ArgumentException">The parts do not fit together (for example a schedule without a window, or <paramref name="to"/> is not where <paramref name="action"/> leads).</exception>
    public CallbackTransition(
        CallbackAction action,
        CallbackState from,
        CallbackState to,
        Participant actor,
        DateTimeOffset at,
        string? reason = null,
        CallbackWindow? window = null,
        int attempt = 0,
        CallbackPriority? priority = null)
    {
        if (!Enum.IsDefined(action) || !Enum.IsDefined(from) || !Enum.IsDefined(to))
        {
            throw new ArgumentException("The action or a state is not a defined value.", nameof(action));
        }

        Participant.ThrowIfUnspecified(actor, nameof(actor));
        if (to != CallbackStateMachine.Target(action, from))
        {
            throw new ArgumentException($"{action} leads to {CallbackStateMachine.Target(action, from)}, not {to}.", nameof(to));
        }

        if ((action == CallbackAction.Schedule) != (window is not null) || (window is { } w && !w.IsSpecified))
        {
            throw new ArgumentException("A window is required for Schedule and not allowed otherwise.", nameof(window));
        }

        if ((action == CallbackAction.RaisePriority) != (priority is not null) || (priority is { } p && !Enum.IsDefined(p)))
        {
            throw new ArgumentException("A defined priority is required for RaisePriority and not allowed otherwise.", nameof(priority));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(attempt);

        Action = action;
        From = from;
        To = to;
        Actor = actor;
        At = at;
        Reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        Window = window;
        Attempt = attempt;
        Priority = priority;
    }

    /// <summary>What happened.</summary>
    public CallbackAction Action { get; }

    /// <summary>The state before.</summary>
    public CallbackState From { get; }

    /// <summary>The state after.</summary>
    public CallbackState To { get; }

    /// <summary>Who did it (<see cref="ParticipantRole.System"/> for automatic transitions).</summary>
    public Participant Actor { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset At { get; }

    /// <summary>Why, in the actor's words; may be health data. Blank input is stored as <see langword="null"/>.</summary>
    public string? Reason { get; }

    /// <summary>The window planned by a <see cref="CallbackAction.Schedule"/>.</summary>
    public CallbackWindow? Window { get; }

    /// <summary>How many call attempts had begun after this transition.</summary>
    public int Attempt { get; }

    /// <summary>The priority set by a <see cref="CallbackAction.RaisePriority"/>.</summary>
    public CallbackPriority? Priority { get; }

    /// <summary>Describes the transition without its reason.</summary>
    /// <returns>The action, states, actor role, time and attempt.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"CallbackTransition {{ Action = {Action}, From = {From}, To = {To}, Actor = {Actor.Role}, At = {At:O}, Attempt = {Attempt} }}");
}
