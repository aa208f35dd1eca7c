using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

/// <summary>
/// The relay's directory and blob store, as one device sees it: registration, key publication, prekey-bundle claims,
/// device and clinic rosters, first-claim-wins arbitration of clinic work items, revocation, and attachment blobs.
/// </summary>
/// <remarks>
/// Every call is made as the device the directory was created for (requests are signed with its identity key).
/// Errors are <see cref="TelehealthException"/>s; refusals by the relay are <see cref="RelayRequestException"/>s.
/// Internal until the shape has settled; the in-memory and HTTP implementations share one contract test suite.
/// </remarks>
internal interface IRelayDirectory : IAsyncDisposable
{
    /// <summary>Registers this device under its user. Idempotent for the same keys; a conflict with other keys is refused.</summary>
    Task RegisterAsync(IdentityKey identity, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes this device's keys: the envelope key, the signed prekey, the last-resort ML-KEM prekey and one-time
    /// prekeys (added to those already held; ids already held are replaced).
    /// </summary>
    Task PublishKeysAsync(DeviceKeyPublication publication, CancellationToken cancellationToken = default);

    /// <summary>The active devices of a user, with their identity and current envelope key (devices without one are left out).</summary>
    Task<IReadOnlyList<DirectoryDevice>> ListDevicesAsync(UserId user, CancellationToken cancellationToken = default);

    /// <summary>Claims a prekey bundle of one device: each one-time prekey is handed to exactly one claimer.</summary>
    Task<DirectoryBundle> ClaimBundleAsync(UserId user, DeviceId device, CancellationToken cancellationToken = default);

    /// <summary>Revokes one of the own user's devices (for example a lost phone): it leaves every listing and its mailbox is deleted.</summary>
    Task RevokeDeviceAsync(DeviceId device, CancellationToken cancellationToken = default);

    /// <summary>Adds this device to a clinic's triage devices (the relay's authorizer decides who may).</summary>
    Task JoinClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default);

    /// <summary>Removes this device from a clinic's triage devices. Idempotent.</summary>
    Task LeaveClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default);

    /// <summary>A clinic's triage devices (each with its clinician's user id).</summary>
    Task<IReadOnlyList<DirectoryDevice>> ListClinicDevicesAsync(ClinicId clinic, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims a clinic work item (an intake or a callback request, named by an opaque id) for this device's user.
    /// The first claim wins; every later claim, by anyone, returns that first claim unchanged.
    /// </summary>
    Task<WorkItemClaim> ClaimWorkItemAsync(ClinicId clinic, string itemId, CancellationToken cancellationToken = default);

    /// <summary>Uploads an attachment's ciphertext, streamed; reports bytes sent.</summary>
    Task UploadBlobAsync(string blobId, Stream ciphertext, long length, IProgress<long>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Opens an attachment's ciphertext for reading, streamed; the caller disposes the stream.</summary>
    Task<Stream> DownloadBlobAsync(string blobId, CancellationToken cancellationToken = default);
}

/// <summary>What a device publishes about its keys. Encodings are those of the crypto types.</summary>
/// <param name="EnvelopeKey">The current <see cref="SignedEnvelopeKey"/>.</param>
/// <param name="SignedPrekey">The current signed X25519 prekey.</param>
/// <param name="LastResortKemPrekey">The last-resort ML-KEM-768 prekey.</param>
/// <param name="OneTimePrekeys">One-time X25519 and ML-KEM-768 prekeys to add.</param>
internal sealed record DeviceKeyPublication(
    SignedEnvelopeKey EnvelopeKey,
    PublicPrekey SignedPrekey,
    PublicPrekey LastResortKemPrekey,
    IReadOnlyList<PublicPrekey> OneTimePrekeys);

/// <summary>A device as the directory lists it.</summary>
internal sealed record DirectoryDevice(UserId User, DeviceId Device, IdentityKey Identity, SignedEnvelopeKey EnvelopeKey);

/// <summary>A claimed prekey bundle with the device it belongs to.</summary>
internal sealed record DirectoryBundle(DirectoryDevice Device, PrekeyBundle Bundle);

/// <summary>The winning claim of a clinic work item.</summary>
/// <param name="ItemId">The work item.</param>
/// <param name="ClaimedBy">The clinician user whose claim won.</param>
/// <param name="ClaimedByDevice">The device that made the winning claim.</param>
/// <param name="ClaimedAt">When the relay recorded the winning claim.</param>
/// <param name="IsOwn">Whether the winning claim is this device's.</param>
internal sealed record WorkItemClaim(string ItemId, UserId ClaimedBy, DeviceId ClaimedByDevice, DateTimeOffset ClaimedAt, bool IsOwn);
