using System.Collections.Immutable;

namespace TelehealthMessaging.Messaging;

/// <summary>What a receipt confirms.</summary>
public enum ReceiptKind
{
    /// <summary>The messages reached the recipient's device.</summary>
    Delivered = 0,

    /// <summary>The recipient displayed the messages.</summary>
    Read = 1,
}

/// <summary>A delivery or read receipt for one or more messages.</summary>
public sealed record ReceiptContent : MessageContent
{
    /// <summary>The most message ids one receipt may carry.</summary>
    public const int MaxMessageIds = 500;

    private readonly ImmutableArray<MessageId> _messageIds;

    /// <summary>Creates a receipt.</summary>
    /// <param name="kind">Delivered or read.</param>
    /// <param name="messageIds">1 to <see cref="MaxMessageIds"/> ids of the messages confirmed.</param>
    /// <exception cref="ArgumentException">The kind is undefined, or the ids are empty, too many or include a default id.</exception>
    public ReceiptContent(ReceiptKind kind, IEnumerable<MessageId> messageIds)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentException("The receipt kind is not a defined value.", nameof(kind));
        }

        ArgumentNullException.ThrowIfNull(messageIds);
        ImmutableArray<MessageId> ids = [.. messageIds];
        if (ids.IsEmpty || ids.Length > MaxMessageIds || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("A receipt needs 1 to 500 message ids, none of them default.", nameof(messageIds));
        }

        Kind = kind;
        _messageIds = ids;
    }

    /// <summary>Delivered or read.</summary>
    public ReceiptKind Kind { get; }

    /// <summary>The messages confirmed.</summary>
    public IReadOnlyList<MessageId> MessageIds => _messageIds;

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.Receipt;

    /// <summary>Receipts are equal when their kinds and message ids (in order) are equal.</summary>
    /// <param name="other">The receipt to compare with.</param>
    /// <returns>Whether both confirm the same messages in the same way.</returns>
    public bool Equals(ReceiptContent? other) =>
        other is not null && Kind == other.Kind && _messageIds.SequenceEqual(other._messageIds);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Kind);
        foreach (MessageId id in _messageIds)
        {
            hash.Add(id);
        }

        return hash.ToHashCode();
    }
}
