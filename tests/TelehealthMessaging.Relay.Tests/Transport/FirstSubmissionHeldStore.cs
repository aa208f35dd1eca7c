using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// A relay store that commits the first submission and then holds its answer until released: the window in which a
/// client's socket can die after the relay stored its envelopes but before the answer reached it.
/// </summary>
internal sealed class FirstSubmissionHeldStore(IRelayStore inner) : IRelayStore
{
    private readonly TaskCompletionSource _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _submissions;

    /// <summary>Completes once the first submission is committed (and its answer is being held).</summary>
    public Task FirstStored => _stored.Task;

    /// <summary>Wraps the store the relay registered.</summary>
    public static void Install(IServiceCollection services)
    {
        ServiceDescriptor registered = services.Last(d => d.ServiceType == typeof(IRelayStore));
        services.AddSingleton<IRelayStore>(sp => new FirstSubmissionHeldStore((IRelayStore)registered.ImplementationFactory!(sp)));
    }

    /// <summary>Lets the first submission's answer go.</summary>
    public void Release() => _released.TrySetResult();

    public async Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken)
    {
        EnvelopeSubmissionOutcome outcome = await inner.SubmitEnvelopesAsync(envelopes, now, expiresAt, maxPendingPerMailbox, nonce, cancellationToken);
        if (Interlocked.Increment(ref _submissions) == 1)
        {
            _stored.TrySetResult();
            // The session ending cancels this; the envelopes stay committed either way.
            await _released.Task.WaitAsync(cancellationToken);
        }

        return outcome;
    }

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);

    public Task<DeviceRegistrationOutcome> RegisterDeviceAsync(RelayDevice device, CancellationToken cancellationToken) => inner.RegisterDeviceAsync(device, cancellationToken);

    public Task<RelayDevice?> GetDeviceAsync(DeviceId deviceId, CancellationToken cancellationToken) => inner.GetDeviceAsync(deviceId, cancellationToken);

    public Task<DeviceRevocationOutcome> RevokeDeviceAsync(DeviceId deviceId, UserId ownerId, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RevokeDeviceAsync(deviceId, ownerId, now, cancellationToken);

    public Task JoinClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken) => inner.JoinClinicAsync(clinicId, deviceId, cancellationToken);

    public Task LeaveClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken) => inner.LeaveClinicAsync(clinicId, deviceId, cancellationToken);

    public Task<IReadOnlyList<RelayDevice>> ListClinicDevicesAsync(ClinicId clinicId, CancellationToken cancellationToken) => inner.ListClinicDevicesAsync(clinicId, cancellationToken);

    public Task<RelayWorkItemClaim?> ClaimWorkItemAsync(ClinicId clinicId, string itemId, RelayDevice device, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        inner.ClaimWorkItemAsync(clinicId, itemId, device, now, expiresAt, cancellationToken);

    public Task<IReadOnlyList<RelayDevice>> ListDevicesAsync(UserId userId, CancellationToken cancellationToken) => inner.ListDevicesAsync(userId, cancellationToken);

    public Task StorePrekeysAsync(DeviceId deviceId, RelayPrekeyUpload upload, CancellationToken cancellationToken) => inner.StorePrekeysAsync(deviceId, upload, cancellationToken);

    public Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken) => inner.ClaimPrekeyBundleAsync(userId, deviceId, cancellationToken);

    public Task<IReadOnlyList<RelayPendingEnvelope>> FetchEnvelopesAsync(DeviceId recipient, long afterCursor, int limit, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.FetchEnvelopesAsync(recipient, afterCursor, limit, now, cancellationToken);

    public Task<bool> TryUseNonceAsync(DeviceId deviceId, string nonce, DateTimeOffset expiresAt, CancellationToken cancellationToken) => inner.TryUseNonceAsync(deviceId, nonce, expiresAt, cancellationToken);

    public Task<bool> TryAddBlobAsync(string blobId, long size, DateTimeOffset expiresAt, CancellationToken cancellationToken) => inner.TryAddBlobAsync(blobId, size, expiresAt, cancellationToken);

    public Task<bool> BlobExistsAsync(string blobId, DateTimeOffset now, CancellationToken cancellationToken) => inner.BlobExistsAsync(blobId, now, cancellationToken);

    public Task<RelayPurgeResult> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.PurgeExpiredAsync(now, cancellationToken);

    public Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken) =>
        inner.AcknowledgeEnvelopesAsync(recipient, ids, rememberUntil, cancellationToken);
}
