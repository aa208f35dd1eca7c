namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// The relay's persistent state: devices and their public keys, opaque prekeys, mailboxes of sealed envelopes,
/// attachment records and used request nonces. Implementations must be safe for concurrent use and, where several
/// relay instances share one database, safe across instances.
/// </summary>
/// <remarks>Times are passed in by the caller (from the relay's <see cref="TimeProvider"/>) so that tests control them.</remarks>
public interface IRelayStore
{
    /// <summary>Creates or upgrades the schema. Called once at start, before the relay accepts requests.</summary>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Returns whether the database answers.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns><see langword="true"/> when the store can serve requests.</returns>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Registers a device, or confirms an identical earlier registration.</summary>
    /// <param name="device">The device and its public identity keys.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether the device was created, already existed with the same keys, or conflicts with an existing one.</returns>
    Task<DeviceRegistrationOutcome> RegisterDeviceAsync(RelayDevice device, CancellationToken cancellationToken);

    /// <summary>Finds a registered device.</summary>
    /// <param name="deviceId">The device.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The device, or <see langword="null"/> when it is not registered.</returns>
    Task<RelayDevice?> GetDeviceAsync(DeviceId deviceId, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes a device of <paramref name="ownerId"/>: deletes the device, its prekeys, its mailbox and its clinic
    /// memberships, and remembers the id so that it is never registered again.
    /// </summary>
    /// <param name="deviceId">The device to revoke.</param>
    /// <param name="ownerId">The user of the requesting device; the revoked device must belong to it.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether the device was revoked, unknown, or another user's.</returns>
    Task<DeviceRevocationOutcome> RevokeDeviceAsync(DeviceId deviceId, UserId ownerId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Adds a registered device to a clinic's triage devices; adding it again changes nothing.</summary>
    /// <param name="clinicId">The clinic.</param>
    /// <param name="deviceId">The device.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the membership is stored.</returns>
    Task JoinClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken);

    /// <summary>Removes a device from a clinic's triage devices; removing a non-member changes nothing.</summary>
    /// <param name="clinicId">The clinic.</param>
    /// <param name="deviceId">The device.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the membership is gone.</returns>
    Task LeaveClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken);

    /// <summary>Lists a clinic's triage devices, ordered by device id.</summary>
    /// <param name="clinicId">The clinic.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The member devices; empty for an unknown clinic.</returns>
    Task<IReadOnlyList<RelayDevice>> ListClinicDevicesAsync(ClinicId clinicId, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a clinic work item for <paramref name="device"/> if it is a member: the first unexpired claim wins, and
    /// every later claim returns it unchanged, however many claims run at once (on every instance sharing the database).
    /// </summary>
    /// <param name="clinicId">The clinic.</param>
    /// <param name="itemId">The validated work-item id.</param>
    /// <param name="device">The claiming device.</param>
    /// <param name="now">The current time; claims that expired by then are replaced.</param>
    /// <param name="expiresAt">When a new claim expires.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The winning claim, or <see langword="null"/> when <paramref name="device"/> is not a member of the clinic.</returns>
    Task<RelayWorkItemClaim?> ClaimWorkItemAsync(ClinicId clinicId, string itemId, RelayDevice device, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Lists a user's registered devices, ordered by device id.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The devices; empty when the user has none.</returns>
    Task<IReadOnlyList<RelayDevice>> ListDevicesAsync(UserId userId, CancellationToken cancellationToken);

    /// <summary>Stores keys: replaces the envelope key, signed and last-resort prekeys when given, adds or replaces one-time prekeys by id.</summary>
    /// <param name="deviceId">The uploading (registered) device.</param>
    /// <param name="upload">The prekeys.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the prekeys are stored.</returns>
    Task StorePrekeysAsync(DeviceId deviceId, RelayPrekeyUpload upload, CancellationToken cancellationToken);

    /// <summary>
    /// Hands out a prekey bundle, removing the one-time prekeys it contains so that each goes to exactly one claimer,
    /// however many claims run at once.
    /// </summary>
    /// <param name="userId">The user the device must belong to.</param>
    /// <param name="deviceId">The device whose bundle is claimed.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The bundle, or <see langword="null"/> when the device is unknown, belongs to another user or has uploaded no envelope key, signed prekey or last-resort prekey.</returns>
    Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch of envelopes atomically: either every new envelope is stored or none is. An envelope whose
    /// (recipient, id) is already pending or was delivered within the time-to-live is reported as a duplicate and not stored again.
    /// </summary>
    /// <param name="envelopes">The envelopes.</param>
    /// <param name="now">The current time.</param>
    /// <param name="expiresAt">When undelivered envelopes of this batch expire.</param>
    /// <param name="maxPendingPerMailbox">Most pending envelopes a mailbox may hold after the batch.</param>
    /// <param name="nonce">
    /// The submitting request's nonce, recorded in the same transaction (one commit per submission instead of two); a
    /// nonce used before makes the outcome <see cref="EnvelopeBatchStatus.ReplayedNonce"/>. It stays recorded when the
    /// batch is refused for another reason. <see langword="null"/> when the caller recorded it already.
    /// </param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The outcome for the batch and for each envelope.</returns>
    Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken);

    /// <summary>Reads unexpired envelopes of one mailbox with a cursor greater than <paramref name="afterCursor"/>, in cursor order.</summary>
    /// <param name="recipient">The mailbox owner.</param>
    /// <param name="afterCursor">The last cursor the device has seen; 0 for all.</param>
    /// <param name="limit">Most envelopes to return.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The envelopes.</returns>
    Task<IReadOnlyList<RelayPendingEnvelope>> FetchEnvelopesAsync(DeviceId recipient, long afterCursor, int limit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes acknowledged envelopes from one mailbox and remembers their ids until <paramref name="rememberUntil"/> so that resubmission stays idempotent.</summary>
    /// <param name="recipient">The mailbox owner.</param>
    /// <param name="ids">The envelope ids.</param>
    /// <param name="rememberUntil">How long the delivered ids are remembered.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many pending envelopes were deleted.</returns>
    Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken);

    /// <summary>Records a request nonce; returns <see langword="false"/> when the device has used it before (a replay).</summary>
    /// <param name="deviceId">The signing device.</param>
    /// <param name="nonce">The nonce text.</param>
    /// <param name="expiresAt">When the nonce may be forgotten (the request's timestamp can no longer be accepted).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether the nonce was fresh.</returns>
    Task<bool> TryUseNonceAsync(DeviceId deviceId, string nonce, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Records an uploaded attachment blob; returns <see langword="false"/> when the id exists.</summary>
    /// <param name="blobId">The validated blob id.</param>
    /// <param name="size">The blob's size in bytes.</param>
    /// <param name="expiresAt">When the blob expires.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether the record was added.</returns>
    Task<bool> TryAddBlobAsync(string blobId, long size, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Returns whether an unexpired blob record exists.</summary>
    /// <param name="blobId">The validated blob id.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>Whether the blob can be served.</returns>
    Task<bool> BlobExistsAsync(string blobId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes expired envelopes, delivered-id records, nonces, work-item claims and blob records.</summary>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the purge.</param>
    /// <returns>What was deleted, including the ids of blob records whose files the caller deletes.</returns>
    Task<RelayPurgeResult> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
