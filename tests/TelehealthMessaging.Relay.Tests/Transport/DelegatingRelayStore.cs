using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>A relay store that passes every call to another; a test fault overrides the one call it changes.</summary>
internal abstract class DelegatingRelayStore(IRelayStore inner) : IRelayStore
{
    protected IRelayStore Inner { get; } = inner;

    /// <summary>Replaces the store the relay registered with <paramref name="wrap"/> of it.</summary>
    protected static void Wrap(IServiceCollection services, Func<IRelayStore, DelegatingRelayStore> wrap)
    {
        ServiceDescriptor registered = services.Last(d => d.ServiceType == typeof(IRelayStore));
        services.AddSingleton<IRelayStore>(sp => wrap((IRelayStore)registered.ImplementationFactory!(sp)));
    }

    public virtual Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken) =>
        Inner.AcknowledgeEnvelopesAsync(recipient, ids, rememberUntil, cancellationToken);

    public virtual Task MigrateAsync(CancellationToken cancellationToken) => Inner.MigrateAsync(cancellationToken);

    public virtual Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Inner.IsReadyAsync(cancellationToken);

    public virtual Task<DeviceRegistrationOutcome> RegisterDeviceAsync(RelayDevice device, CancellationToken cancellationToken) => Inner.RegisterDeviceAsync(device, cancellationToken);

    public virtual Task<RelayDevice?> GetDeviceAsync(DeviceId deviceId, CancellationToken cancellationToken) => Inner.GetDeviceAsync(deviceId, cancellationToken);

    public virtual Task<DeviceRevocationOutcome> RevokeDeviceAsync(DeviceId deviceId, UserId ownerId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Inner.RevokeDeviceAsync(deviceId, ownerId, now, cancellationToken);

    public virtual Task JoinClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken) => Inner.JoinClinicAsync(clinicId, deviceId, cancellationToken);

    public virtual Task LeaveClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken) => Inner.LeaveClinicAsync(clinicId, deviceId, cancellationToken);

    public virtual Task<IReadOnlyList<RelayDevice>> ListClinicDevicesAsync(ClinicId clinicId, CancellationToken cancellationToken) => Inner.ListClinicDevicesAsync(clinicId, cancellationToken);

    public virtual Task<RelayWorkItemClaim?> ClaimWorkItemAsync(ClinicId clinicId, string itemId, RelayDevice device, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Inner.ClaimWorkItemAsync(clinicId, itemId, device, now, expiresAt, cancellationToken);

    public virtual Task<IReadOnlyList<RelayDevice>> ListDevicesAsync(UserId userId, CancellationToken cancellationToken) => Inner.ListDevicesAsync(userId, cancellationToken);

    public virtual Task StorePrekeysAsync(DeviceId deviceId, RelayPrekeyUpload upload, CancellationToken cancellationToken) => Inner.StorePrekeysAsync(deviceId, upload, cancellationToken);

    public virtual Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken) => Inner.ClaimPrekeyBundleAsync(userId, deviceId, cancellationToken);

    public virtual Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken) =>
        Inner.SubmitEnvelopesAsync(envelopes, now, expiresAt, maxPendingPerMailbox, nonce, cancellationToken);

    public virtual Task<IReadOnlyList<RelayPendingEnvelope>> FetchEnvelopesAsync(DeviceId recipient, long afterCursor, int limit, DateTimeOffset now, CancellationToken cancellationToken) =>
        Inner.FetchEnvelopesAsync(recipient, afterCursor, limit, now, cancellationToken);

    public virtual Task<bool> TryUseNonceAsync(DeviceId deviceId, string nonce, DateTimeOffset expiresAt, CancellationToken cancellationToken) => Inner.TryUseNonceAsync(deviceId, nonce, expiresAt, cancellationToken);

    public virtual Task<bool> TryAddBlobAsync(string blobId, long size, DateTimeOffset expiresAt, CancellationToken cancellationToken) => Inner.TryAddBlobAsync(blobId, size, expiresAt, cancellationToken);

    public virtual Task<bool> BlobExistsAsync(string blobId, DateTimeOffset now, CancellationToken cancellationToken) => Inner.BlobExistsAsync(blobId, now, cancellationToken);

    public virtual Task<RelayPurgeResult> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) => Inner.PurgeExpiredAsync(now, cancellationToken);
}
