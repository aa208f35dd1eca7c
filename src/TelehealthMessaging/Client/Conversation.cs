using TelehealthMessaging.Messaging;

namespace TelehealthMessaging;

/// <summary>Who a conversation is with.</summary>
public enum ConversationKind
{
    /// <summary>A patient and a clinic: every triage device of the clinic receives it.</summary>
    Clinic = 0,

    /// <summary>Two users directly.</summary>
    Direct = 1,
}

/// <summary>A conversation as this device knows it.</summary>
/// <remarks>Ids only; the content lives in the conversation's history.</remarks>
public sealed class Conversation
{
    internal Conversation(ConversationId id, ConversationKind kind, ClinicId? clinic, UserId patient, UserId? peer, DateTimeOffset createdAt)
    {
        Id = id;
        Kind = kind;
        Clinic = clinic;
        Patient = patient;
        Peer = peer;
        CreatedAt = createdAt;
    }

    /// <summary>The conversation's id: derived from its parties, so every device of every party names it alike.</summary>
    public ConversationId Id { get; }

    /// <summary>Whether it is with a clinic or direct.</summary>
    public ConversationKind Kind { get; }

    /// <summary>The clinic, for <see cref="ConversationKind.Clinic"/> conversations.</summary>
    public ClinicId? Clinic { get; }

    /// <summary>The patient of a clinic conversation, or the first party of a direct one.</summary>
    public UserId Patient { get; }

    /// <summary>The other party of a direct conversation.</summary>
    public UserId? Peer { get; }

    /// <summary>When this device first knew the conversation.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <inheritdoc/>
    public override string ToString() => $"Conversation {{ Id = {Id}, Kind = {Kind} }}";

    internal static ConversationId ClinicConversationId(UserId patient, ClinicId clinic) =>
        new("pc-" + Digest("clinic", patient.Value, clinic.Value));

    internal static ConversationId DirectConversationId(UserId a, UserId b)
    {
        (string first, string second) = string.CompareOrdinal(a.Value, b.Value) <= 0 ? (a.Value, b.Value) : (b.Value, a.Value);
        return new ConversationId("dm-" + Digest("direct", first, second));
    }

    private static string Digest(string kind, string first, string second)
    {
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(kind + "\n" + first + "\n" + second));
        return Convert.ToHexString(hash, 0, 20).ToLowerInvariant();
    }
}

/// <summary>The delivery status of an outgoing item.</summary>
public enum MessageStatus
{
    /// <summary>Stored in the outbox (encrypted at rest), not yet accepted by the relay.</summary>
    Pending = 0,

    /// <summary>The relay stored it for every recipient device.</summary>
    Sent = 1,

    /// <summary>At least one device of a recipient received it.</summary>
    Delivered = 2,

    /// <summary>A recipient marked it read.</summary>
    Read = 3,

    /// <summary>Sending failed for a reason retrying cannot fix; see <see cref="ConversationMessage.FailureReason"/>.</summary>
    Failed = 4,

    /// <summary>Received from another party (incoming items have no delivery status of their own).</summary>
    Received = 5,
}

/// <summary>One message of a conversation's local history.</summary>
/// <remarks><see cref="ToString"/> names ids, direction and status only: the content is health data.</remarks>
public sealed class ConversationMessage
{
    internal ConversationMessage(SecureMessage message, bool isOutgoing, MessageStatus status, TelehealthErrorCode? failureReason)
    {
        Message = message;
        IsOutgoing = isOutgoing;
        Status = status;
        FailureReason = failureReason;
    }

    /// <summary>The message (id, sender, time, content).</summary>
    public SecureMessage Message { get; }

    /// <summary>The message id.</summary>
    public MessageId Id => Message.Id;

    /// <summary>Whether this user sent it (from this or another of the user's devices).</summary>
    public bool IsOutgoing { get; }

    /// <summary>The delivery status of an outgoing message; <see cref="MessageStatus.Received"/> for incoming ones.</summary>
    public MessageStatus Status { get; }

    /// <summary>Why sending failed, when <see cref="Status"/> is <see cref="MessageStatus.Failed"/>.</summary>
    public TelehealthErrorCode? FailureReason { get; }

    /// <inheritdoc/>
    public override string ToString() => $"ConversationMessage {{ Id = {Id}, Outgoing = {IsOutgoing}, Status = {Status}, ContentType = {Message.Content.ContentType} }}";
}

/// <summary>A page of history, newest last, with the token for the page before it.</summary>
/// <param name="Messages">The messages, oldest first.</param>
/// <param name="ContinuationToken">Pass to get the older page; <see langword="null"/> when there is none.</param>
public sealed record HistoryPage(IReadOnlyList<ConversationMessage> Messages, string? ContinuationToken);

/// <summary>The winning claim of a clinic work item (an intake or a callback request).</summary>
/// <param name="ClaimedBy">The clinician whose claim won.</param>
/// <param name="ClaimedAt">When the relay recorded it.</param>
/// <param name="IsOwn">Whether this user's claim won.</param>
public sealed record ClaimResult(UserId ClaimedBy, DateTimeOffset ClaimedAt, bool IsOwn);
