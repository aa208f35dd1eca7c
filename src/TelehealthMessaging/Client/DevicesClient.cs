using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging;

/// <summary>A device as the relay lists it, with what this device knows about it.</summary>
/// <param name="User">The device's user.</param>
/// <param name="Device">The device.</param>
/// <param name="IsThisDevice">Whether it is the device this client runs on.</param>
/// <param name="IsVerified">Whether its safety number was verified (and its identity has not changed since).</param>
public sealed record DeviceInfo(UserId User, DeviceId Device, bool IsThisDevice, bool IsVerified);

/// <summary>Own and peers' devices: listing, safety numbers, verification, revocation. Reached through <see cref="TelehealthClient.Devices"/>.</summary>
public sealed class DevicesClient
{
    private readonly TelehealthClient _client;

    internal DevicesClient(TelehealthClient client) => _client = client;

    /// <summary>This user's devices (this one included).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The devices.</returns>
    public Task<IReadOnlyList<DeviceInfo>> ListOwnAsync(CancellationToken cancellationToken = default) => ListAsync(_client.User, cancellationToken);

    /// <summary>A user's devices.</summary>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The devices.</returns>
    public async Task<IReadOnlyList<DeviceInfo>> ListAsync(UserId user, CancellationToken cancellationToken = default)
    {
        (LocalData data, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<DeviceInfo>();
        foreach (DirectoryDevice device in await directory.ListDevicesAsync(user, cancellationToken).ConfigureAwait(false))
        {
            devices.Add(new DeviceInfo(device.User, device.Device, device.Device == _client.Device, await IsVerifiedAsync(data, device, cancellationToken).ConfigureAwait(false)));
        }

        return devices;
    }

    /// <summary>The safety number of this device and another: compare it out of band (read aloud, scan), then call <see cref="MarkVerifiedAsync"/>.</summary>
    /// <param name="user">The other device's user.</param>
    /// <param name="device">The other device.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The 60-digit safety number.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.NotFound"/>: the relay lists no such device.</exception>
    public async Task<SafetyNumber> GetSafetyNumberAsync(UserId user, DeviceId device, CancellationToken cancellationToken = default)
    {
        (_, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        DirectoryDevice peer = await FindAsync(directory, user, device, cancellationToken).ConfigureAwait(false);
        return SafetyNumber.Compute(_client.Messenger.Identity, _client.User, peer.Identity, peer.User);
    }

    /// <summary>Records that the user compared <paramref name="safetyNumber"/> with the other device's and they matched.</summary>
    /// <param name="user">The other device's user.</param>
    /// <param name="device">The other device.</param>
    /// <param name="safetyNumber">The number the user compared.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the verification is stored.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the number is not the current one (the identity changed); nothing is stored.</exception>
    public async Task MarkVerifiedAsync(UserId user, DeviceId device, SafetyNumber safetyNumber, CancellationToken cancellationToken = default)
    {
        (LocalData data, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        DirectoryDevice peer = await FindAsync(directory, user, device, cancellationToken).ConfigureAwait(false);
        if (!SafetyNumber.Compute(_client.Messenger.Identity, _client.User, peer.Identity, peer.User).Equals(safetyNumber))
        {
            throw new TelehealthException(TelehealthErrorCode.IntegrityCheckFailed, "The safety number does not match the device's current identity.");
        }

        await data.Store.SetAsync(VerifiedKey(device), peer.Identity.Fingerprint(), cancellationToken).ConfigureAwait(false);
        await _client.AuditAsync(AuditAction.SafetyNumberVerified, [AuditSubject.Of(user), AuditSubject.Of(device)], cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Revokes one of this user's devices (a lost or replaced phone): it leaves every listing and receives nothing more.</summary>
    /// <param name="device">The device to revoke.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the relay revoked it.</returns>
    public async Task RevokeAsync(DeviceId device, CancellationToken cancellationToken = default)
    {
        (LocalData data, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        await directory.RevokeDeviceAsync(device, cancellationToken).ConfigureAwait(false);
        await data.Store.DeleteAsync(VerifiedKey(device), cancellationToken).ConfigureAwait(false);
        await _client.AuditAsync(AuditAction.DeviceRevoked, [AuditSubject.Of(device)], cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static DataRecordKey VerifiedKey(DeviceId device) => new(IDataStore.DeviceScope, "verified", device.Value);

    private static async Task<bool> IsVerifiedAsync(LocalData data, DirectoryDevice device, CancellationToken cancellationToken)
    {
        byte[]? stored = await data.Store.GetAsync(VerifiedKey(device.Device), cancellationToken).ConfigureAwait(false);
        return stored is not null && stored.AsSpan().SequenceEqual(device.Identity.Fingerprint());
    }

    private static async Task<DirectoryDevice> FindAsync(IRelayDirectory directory, UserId user, DeviceId device, CancellationToken cancellationToken) =>
        (await directory.ListDevicesAsync(user, cancellationToken).ConfigureAwait(false)).FirstOrDefault(d => d.Device == device)
        ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "The relay lists no such device for that user.");
}
