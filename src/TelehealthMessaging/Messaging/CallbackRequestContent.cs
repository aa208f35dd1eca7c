using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Messaging;

/// <summary>A whole callback request, sent when the patient makes it or to bring another device up to date.</summary>
/// <remarks>The receiver rebuilds the request by replaying its history, so a tampered state or history is rejected.</remarks>
public sealed record CallbackRequestContent : MessageContent
{
    /// <summary>Creates callback request content.</summary>
    /// <param name="request">The request.</param>
    public CallbackRequestContent(CallbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Request = request;
    }

    /// <summary>The request (its reason and phone number are health data).</summary>
    public CallbackRequest Request { get; }

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.CallbackRequest;
}
