namespace TelehealthMessaging.Messaging;

/// <summary>
/// One message in a conversation, in plaintext: who sent it from which device, when, in reply to what, and its
/// content. The encryption layer seals the bytes <see cref="MessageSerializer"/> makes of it.
/// </summary>
/// <remarks><see cref="ToString"/> shows ids and the content type only.</remarks>
public sealed class SecureMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="id">The message's id; the receiver deduplicates by it.</param>
    /// <param name="conversationId">The conversation it belongs to.</param>
    /// <param name="sender">Who sent it.</param>
    /// <param name="senderDevice">The device it was sent from.</param>
    /// <param name="sentAt">When it was sent, by the sender's clock.</param>
    /// <param name="content">What it says.</param>
    /// <param name="inResponseTo">The message it answers, if any.</param>
    /// <exception cref="ArgumentException">An id or the sender is missing (default value).</exception>
    public SecureMessage(
        MessageId id,
        ConversationId conversationId,
        Participant sender,
        DeviceId senderDevice,
        DateTimeOffset sentAt,
        MessageContent content,
        MessageId? inResponseTo = null)
    {
        if (id.Value is null || conversationId.Value is null || senderDevice.Value is null || inResponseTo is { Value: null })
        {
            throw new ArgumentException("The message, conversation, device and reply ids must not be default values.", nameof(id));
        }

        Participant.ThrowIfUnspecified(sender, nameof(sender));
        ArgumentNullException.ThrowIfNull(content);
        Id = id;
        ConversationId = conversationId;
        Sender = sender;
        SenderDevice = senderDevice;
        SentAt = sentAt;
        Content = content;
        InResponseTo = inResponseTo;
    }

    /// <summary>The message's id.</summary>
    public MessageId Id { get; }

    /// <summary>The conversation it belongs to.</summary>
    public ConversationId ConversationId { get; }

    /// <summary>Who sent it.</summary>
    public Participant Sender { get; }

    /// <summary>The device it was sent from.</summary>
    public DeviceId SenderDevice { get; }

    /// <summary>When it was sent, by the sender's clock.</summary>
    public DateTimeOffset SentAt { get; }

    /// <summary>The message it answers, if any.</summary>
    public MessageId? InResponseTo { get; }

    /// <summary>What it says.</summary>
    public MessageContent Content { get; }

    /// <summary>Creates a new message with a new id, stamped with the current time.</summary>
    /// <param name="conversationId">The conversation it belongs to.</param>
    /// <param name="sender">Who sends it.</param>
    /// <param name="senderDevice">The device it is sent from.</param>
    /// <param name="content">What it says.</param>
    /// <param name="timeProvider">The clock for <see cref="SentAt"/>.</param>
    /// <param name="inResponseTo">The message it answers, if any.</param>
    /// <returns>The new message.</returns>
    public static SecureMessage Create(
        ConversationId conversationId,
        Participant sender,
        DeviceId senderDevice,
        MessageContent content,
        TimeProvider timeProvider,
        MessageId? inResponseTo = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new SecureMessage(MessageId.New(), conversationId, sender, senderDevice, timeProvider.GetUtcNow(), content, inResponseTo);
    }

    /// <summary>Describes the message without its content.</summary>
    /// <returns>The ids, the sender's role and the content type.</returns>
    public override string ToString() =>
        $"SecureMessage {{ Id = {Id}, ConversationId = {ConversationId}, Sender = {Sender.Role} {Sender.Id}, ContentType = {Content.ContentType} }}";
}
