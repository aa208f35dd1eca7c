using System.Text.Json.Serialization;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging;

// The client's local records, stored through IDataStore (encrypted at rest by the store, per conversation scope).
// Plain DTOs with a source-generated serializer: small, versionable, AOT-safe.

internal sealed class ConversationRecord
{
    public string Id { get; set; } = "";

    public int Kind { get; set; }

    public string? Clinic { get; set; }

    public string Patient { get; set; } = "";

    public string? Peer { get; set; }

    public long CreatedAt { get; set; }
}

internal sealed class MessageRecord
{
    public bool Outgoing { get; set; }

    public int Status { get; set; }

    public int? Failure { get; set; }

    public byte[] Message { get; set; } = [];
}

internal sealed class SealedEnvelopeRecord
{
    public string Id { get; set; } = "";

    public string Recipient { get; set; } = "";

    public byte[] Data { get; set; } = [];
}

internal sealed class OutboxRecord
{
    public long Seq { get; set; }

    public byte[] Payload { get; set; } = [];

    /// <summary>The message this item carries (null for claim notices): its history status follows the item.</summary>
    public string? MessageId { get; set; }

    public int Attempts { get; set; }

    public long NextAttemptAt { get; set; }

    public List<SealedEnvelopeRecord>? Sealed { get; set; }
}

internal sealed class WorkItemRecord
{
    public string ItemId { get; set; } = "";

    public string Patient { get; set; } = "";

    public string? FormCanonical { get; set; }

    public long ReceivedAt { get; set; }

    public List<string> RedFlags { get; set; } = [];

    /// <summary>The latest message defining the item: the intake submission, or the callback request in its current state.</summary>
    public byte[] Message { get; set; } = [];

    public string? ClaimedBy { get; set; }

    public string? ClaimedByDevice { get; set; }

    public long? ClaimedAt { get; set; }

    /// <summary>Records the first claim; returns <see langword="false"/> when one is already recorded.</summary>
    public bool TryRecordClaim(ClaimNotice claim)
    {
        if (ClaimedBy is not null)
        {
            return false;
        }

        ClaimedBy = claim.ClaimedBy.Value;
        ClaimedByDevice = claim.ClaimedByDevice.Value;
        ClaimedAt = claim.ClaimedAt.ToUnixTimeMilliseconds();
        return true;
    }

    /// <summary>Replaces the stored callback request with its new state, keeping the message that created it.</summary>
    public void StoreCallbackState(SecureMessage current, Callbacks.CallbackRequest request) =>
        Message = MessageSerializer.Serialize(new SecureMessage(current.Id, current.ConversationId, current.Sender, current.SenderDevice, current.SentAt, new CallbackRequestContent(request), current.InResponseTo));
}

internal sealed class PublishedKeysRecord
{
    public uint EnvelopeKeyId { get; set; }

    public uint SignedPrekeyId { get; set; }

    public uint LastResortPrekeyId { get; set; }

    public uint MaxOneTimePrekeyId { get; set; }

    public string? Clinic { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConversationRecord))]
[JsonSerializable(typeof(MessageRecord))]
[JsonSerializable(typeof(OutboxRecord))]
[JsonSerializable(typeof(WorkItemRecord))]
[JsonSerializable(typeof(PublishedKeysRecord))]
internal sealed partial class LocalRecordsJsonContext : JsonSerializerContext;
