using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging;

/// <summary>Something that happened to this device's data. Read them from <see cref="TelehealthClient.ReadEventsAsync"/> or the typed events on <see cref="TelehealthClient"/>.</summary>
/// <remarks>Events carry typed data (which may be health data) but print ids, kinds and states only.</remarks>
public abstract record TelehealthEvent
{
    private protected TelehealthEvent()
    {
    }

    /// <summary>When this device observed it.</summary>
    public DateTimeOffset OccurredAt { get; init; }
}

/// <summary>A message arrived (or one sent from another of this user's devices was synced).</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="Message">The message.</param>
public sealed record MessageReceivedEvent(ConversationId ConversationId, ConversationMessage Message) : TelehealthEvent;

/// <summary>An outgoing item's status changed (sent, delivered, read, failed).</summary>
public sealed record MessageStatusChangedEvent(ConversationId ConversationId, MessageId MessageId, MessageStatus Status, TelehealthErrorCode? FailureReason) : TelehealthEvent;

/// <summary>An intake submission arrived in a clinic inbox (clinicians) or was synced from another device.</summary>
public sealed record IntakeReceivedEvent(ConversationId ConversationId, IntakeInboxItem Item) : TelehealthEvent;

/// <summary>A clinic work item (intake or callback request) was claimed.</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="ItemId">The intake submission id or callback request id, as text.</param>
/// <param name="Claim">The winning claim.</param>
public sealed record WorkItemClaimedEvent(ConversationId ConversationId, string ItemId, ClaimResult Claim) : TelehealthEvent;

/// <summary>A callback request was created or changed state.</summary>
public sealed record CallbackChangedEvent(ConversationId ConversationId, CallbackRequest Request) : TelehealthEvent;

/// <summary>The connection to the relay changed state.</summary>
public sealed record ConnectionStateChangedEvent(TransportState State) : TelehealthEvent;

/// <summary>An intake submission in a clinic inbox.</summary>
/// <remarks>Ids, form, times, red-flag rule ids and claim only; read the answers with <see cref="IntakeClient.GetSubmissionAsync"/>.</remarks>
public sealed record IntakeInboxItem(
    IntakeSubmissionId SubmissionId,
    ConversationId ConversationId,
    UserId Patient,
    string FormCanonical,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<string> RedFlagRuleIds,
    ClaimResult? Claim);
