namespace TelehealthMessaging.Callbacks;

/// <summary>
/// A callback transition was refused: either the request's state does not allow it
/// (<see cref="TelehealthErrorCode.InvalidTransition"/>) or the actor's role may not perform it
/// (<see cref="TelehealthErrorCode.NotPermitted"/>). The request is unchanged.
/// </summary>
public sealed class InvalidCallbackTransitionException : TelehealthException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode"><see cref="TelehealthErrorCode.InvalidTransition"/> or <see cref="TelehealthErrorCode.NotPermitted"/>.</param>
    /// <param name="action">The transition that was attempted.</param>
    /// <param name="from">The request's state.</param>
    /// <param name="to">The state the transition leads to.</param>
    /// <param name="actorRole">The role of the participant who attempted it.</param>
    /// <param name="message">A description that names states, the action and the role only.</param>
    public InvalidCallbackTransitionException(
        TelehealthErrorCode errorCode,
        CallbackAction action,
        CallbackState from,
        CallbackState to,
        ParticipantRole actorRole,
        string message)
        : base(errorCode, message)
    {
        Action = action;
        From = from;
        To = to;
        ActorRole = actorRole;
    }

    /// <summary>The transition that was attempted.</summary>
    public CallbackAction Action { get; }

    /// <summary>The request's state when the transition was attempted.</summary>
    public CallbackState From { get; }

    /// <summary>The state the transition leads to.</summary>
    public CallbackState To { get; }

    /// <summary>The role of the participant who attempted the transition.</summary>
    public ParticipantRole ActorRole { get; }
}
