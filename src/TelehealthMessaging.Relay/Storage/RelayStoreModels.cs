namespace TelehealthMessaging.Relay.Storage;

/// <summary>A registered device and its public identity keys.</summary>
/// <param name="UserId">The user the device belongs to.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="IdentityKey">The 32-byte Ed25519 identity public key; it signs every request of the device.</param>
/// <param name="AgreementKey">The 32-byte X25519 identity public key.</param>
/// <param name="AgreementKeySignature">The Ed25519 signature by <paramref name="IdentityKey"/> over the identity binding message (label, algorithm, both keys).</param>
public sealed record RelayDevice(UserId UserId, DeviceId DeviceId, byte[] IdentityKey, byte[] AgreementKey, byte[] AgreementKeySignature)
{
    /// <summary>The device's current signed envelope key (its wire encoding), or <see langword="null"/> before the first key upload.</summary>
    public byte[]? EnvelopeKey { get; init; }

    internal bool HasSameKeys(RelayDevice other) =>
        UserId == other.UserId && IdentityKey.AsSpan().SequenceEqual(other.IdentityKey) && AgreementKey.AsSpan().SequenceEqual(other.AgreementKey);
}

/// <summary>The result of registering a device.</summary>
public enum DeviceRegistrationOutcome
{
    /// <summary>The device was new and is now registered.</summary>
    Created,

    /// <summary>The device was already registered to the same user with the same keys.</summary>
    AlreadyRegistered,

    /// <summary>The device id is registered with other keys or to another user.</summary>
    Conflict,

    /// <summary>The device id was revoked; revoked ids are never registered again.</summary>
    Revoked,
}

/// <summary>The result of revoking a device.</summary>
public enum DeviceRevocationOutcome
{
    /// <summary>The device and everything it held are deleted.</summary>
    Revoked,

    /// <summary>No such device is registered.</summary>
    NotFound,

    /// <summary>The device belongs to another user; nothing changed.</summary>
    NotOwnDevice,
}

/// <summary>The winning claim of a clinic work item.</summary>
/// <param name="ClinicId">The clinic.</param>
/// <param name="ItemId">The work item.</param>
/// <param name="UserId">The user whose device claimed it first.</param>
/// <param name="DeviceId">The device that claimed it first.</param>
/// <param name="ClaimedAt">When the winning claim was stored.</param>
public sealed record RelayWorkItemClaim(ClinicId ClinicId, string ItemId, UserId UserId, DeviceId DeviceId, DateTimeOffset ClaimedAt);

/// <summary>A one-time prekey: the device's id for it and its opaque public bytes.</summary>
/// <param name="KeyId">The device-chosen key id.</param>
/// <param name="Key">The opaque public prekey (with whatever signature the client attaches).</param>
public sealed record RelayOneTimePrekey(long KeyId, byte[] Key);

/// <summary>Keys a device uploads; the API has verified them against the device's identity before they reach the store.</summary>
/// <param name="SignedPrekey">The signed X25519 prekey, or <see langword="null"/> to keep the current one.</param>
/// <param name="LastResortKemPrekey">The last-resort KEM prekey, or <see langword="null"/> to keep the current one.</param>
/// <param name="OneTimePrekeys">One-time X25519 prekeys to add.</param>
/// <param name="OneTimeKemPrekeys">One-time KEM prekeys to add.</param>
/// <param name="EnvelopeKey">The signed envelope key, or <see langword="null"/> to keep the current one.</param>
public sealed record RelayPrekeyUpload(byte[]? SignedPrekey, byte[]? LastResortKemPrekey, IReadOnlyList<RelayOneTimePrekey> OneTimePrekeys, IReadOnlyList<RelayOneTimePrekey> OneTimeKemPrekeys, byte[]? EnvelopeKey = null);

/// <summary>A claimed prekey bundle.</summary>
/// <param name="Device">The device and its identity keys.</param>
/// <param name="SignedPrekey">The signed X25519 prekey.</param>
/// <param name="OneTimePrekey">A one-time X25519 prekey no other claimer receives, or <see langword="null"/> when none is left.</param>
/// <param name="KemPrekey">A one-time KEM prekey no other claimer receives, or else the last-resort KEM prekey.</param>
/// <param name="KemPrekeyIsLastResort">Whether <paramref name="KemPrekey"/> is the last-resort key.</param>
public sealed record RelayPrekeyBundle(RelayDevice Device, byte[] SignedPrekey, RelayOneTimePrekey? OneTimePrekey, RelayOneTimePrekey KemPrekey, bool KemPrekeyIsLastResort);

/// <summary>An envelope to store.</summary>
/// <param name="Id">The client-generated id; with the recipient it makes resubmission idempotent.</param>
/// <param name="Recipient">The mailbox.</param>
/// <param name="Data">The sealed envelope bytes.</param>
public sealed record RelayEnvelope(MessageId Id, DeviceId Recipient, byte[] Data);

/// <summary>A pending envelope as stored.</summary>
/// <param name="Cursor">Its position in the mailbox; increases with every stored envelope.</param>
/// <param name="Id">The client-generated id.</param>
/// <param name="Data">The sealed envelope bytes.</param>
public sealed record RelayPendingEnvelope(long Cursor, MessageId Id, byte[] Data);

/// <summary>How a batch submission ended.</summary>
public enum EnvelopeBatchStatus
{
    /// <summary>Every envelope is stored (or was already).</summary>
    Stored,

    /// <summary>A recipient is not a registered device; nothing was stored.</summary>
    UnknownRecipient,

    /// <summary>A recipient's mailbox would exceed its pending limit; nothing was stored.</summary>
    MailboxFull,

    /// <summary>The submitting request's nonce was used before (a replay); nothing was stored.</summary>
    ReplayedNonce,
}

/// <summary>A request nonce to record with the operation it authorizes, so that both commit together.</summary>
/// <param name="Device">The signing device.</param>
/// <param name="Value">The nonce text.</param>
/// <param name="ExpiresAt">When the nonce may be forgotten (its request's timestamp can no longer be accepted).</param>
public sealed record RelayNonce(DeviceId Device, string Value, DateTimeOffset ExpiresAt);

/// <summary>The outcome of a batch submission.</summary>
/// <param name="Status">The batch result.</param>
/// <param name="DuplicatePositions">
/// Positions in the batch of envelopes that were not stored because their (recipient, id) was already pending, was
/// delivered within the time-to-live, or appeared earlier in the same batch.
/// </param>
/// <param name="FailedRecipient">The recipient that made the batch fail, when it failed.</param>
public sealed record EnvelopeSubmissionOutcome(EnvelopeBatchStatus Status, IReadOnlySet<int> DuplicatePositions, DeviceId? FailedRecipient)
{
    /// <summary>
    /// The envelopes this submission stored, per mailbox with their cursors, so that the relay can hand them to the
    /// recipients' open connections without reading them back. Empty when a store does not report them; the
    /// connections then read their mailboxes.
    /// </summary>
    public IReadOnlyList<RelayMailboxAppend> Appended { get; init; } = [];

    internal static EnvelopeSubmissionOutcome Failed(EnvelopeBatchStatus status, DeviceId? recipient) =>
        new(status, new HashSet<int>(), recipient);
}

/// <summary>Envelopes appended to one mailbox by a submission.</summary>
/// <param name="Recipient">The mailbox owner.</param>
/// <param name="Envelopes">The stored envelopes in cursor order.</param>
public sealed record RelayMailboxAppend(DeviceId Recipient, IReadOnlyList<RelayPendingEnvelope> Envelopes);

/// <summary>What a purge deleted.</summary>
/// <param name="Envelopes">Expired undelivered envelopes.</param>
/// <param name="Nonces">Nonces past their window.</param>
/// <param name="DeliveredIds">Delivered-id records past the time-to-live.</param>
/// <param name="ExpiredBlobIds">Blob records deleted; their files are deleted by the caller.</param>
/// <param name="WorkItemClaims">Work-item claims past the time-to-live.</param>
public sealed record RelayPurgeResult(int Envelopes, int Nonces, int DeliveredIds, IReadOnlyList<string> ExpiredBlobIds, int WorkItemClaims = 0);
