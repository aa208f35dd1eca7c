using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Messaging;

/// <summary>One transition of a callback request, for the other party to apply with <see cref="CallbackRequest.Apply"/>.</summary>
public sealed record CallbackTransitionContent : MessageContent
{
    /// <summary>Creates callback transition content.</summary>
    /// <param name="requestId">The request the transition belongs to.</param>
    /// <param name="transition">The transition.</param>
    public CallbackTransitionContent(CallbackRequestId requestId, CallbackTransition transition)
    {
        if (requestId.Value is null)
        {
            throw new ArgumentException("The callback request id is missing.", nameof(requestId));
        }

        ArgumentNullException.ThrowIfNull(transition);
        RequestId = requestId;
        Transition = transition;
    }

    /// <summary>The request the transition belongs to.</summary>
    public CallbackRequestId RequestId { get; }

    /// <summary>The transition (its reason is health data).</summary>
    public CallbackTransition Transition { get; }

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.CallbackTransition;
}
