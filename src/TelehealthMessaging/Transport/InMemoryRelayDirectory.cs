using System.Buffers;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

/// <summary>One device's view of an <see cref="InMemoryRelay"/>'s directory; calls are shaped by the relay's <see cref="RelayFaults"/>.</summary>
internal sealed class InMemoryRelayDirectory : IRelayDirectory
{
    private readonly InMemoryRelay _relay;
    private readonly UserId _user;
    private readonly DeviceId _device;
    private bool _disposed;

    public InMemoryRelayDirectory(InMemoryRelay relay, UserId user, DeviceId device)
    {
        _relay = relay;
        _user = user;
        _device = device;
    }

    public Task RegisterAsync(IdentityKey identity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return CallAsync(() => _relay.RegisterDirectoryDevice(_user, _device, identity), cancellationToken);
    }

    public Task PublishKeysAsync(DeviceKeyPublication publication, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(publication);
        return CallAsync(
            () =>
            {
                foreach (DeviceKeyPublication part in DirectoryArguments.Split(publication))
                {
                    _relay.PublishKeys(_device, part);
                }
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<DirectoryDevice>> ListDevicesAsync(UserId user, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(user);
        return CallAsync<IReadOnlyList<DirectoryDevice>>(() => _relay.ListDirectoryDevices(_device, user), cancellationToken);
    }

    public Task<DirectoryBundle> ClaimBundleAsync(UserId user, DeviceId device, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(user);
        DirectoryArguments.Check(device);
        return CallAsync(() => _relay.ClaimDirectoryBundle(_device, user, device), cancellationToken);
    }

    public Task RevokeDeviceAsync(DeviceId device, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(device);
        return CallAsync(() => _relay.RevokeDirectoryDevice(_device, device), cancellationToken);
    }

    public Task JoinClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        return CallAsync(() => _relay.JoinClinic(_device, clinic), cancellationToken);
    }

    public Task LeaveClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        return CallAsync(() => _relay.LeaveClinic(_device, clinic), cancellationToken);
    }

    public Task<IReadOnlyList<DirectoryDevice>> ListClinicDevicesAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        return CallAsync<IReadOnlyList<DirectoryDevice>>(() => _relay.ListClinicDevices(_device, clinic), cancellationToken);
    }

    public Task<WorkItemClaim> ClaimWorkItemAsync(ClinicId clinic, string itemId, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        DirectoryArguments.CheckItemId(itemId);
        return CallAsync(() => _relay.ClaimWorkItem(_device, clinic, itemId), cancellationToken);
    }

    public async Task UploadBlobAsync(string blobId, Stream ciphertext, long length, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.CheckBlob(blobId, ciphertext, length);
        await CallAsync(() => _relay.CheckBlobUpload(_device, blobId, length), cancellationToken).ConfigureAwait(false);

        // Read in chunks like a network upload, so progress is reported as bytes leave the caller's stream.
        byte[] data = new byte[length];
        byte[] chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            long sent = 0;
            int read;
            while ((read = await ciphertext.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (sent + read > length)
                {
                    throw DirectoryArguments.LengthMismatch();
                }

                chunk.AsSpan(0, read).CopyTo(data.AsSpan((int)sent));
                sent += read;
                progress?.Report(sent);
            }

            if (sent != length)
            {
                throw DirectoryArguments.LengthMismatch();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        await CallAsync(() => _relay.StoreBlob(_device, blobId, data), cancellationToken).ConfigureAwait(false);
    }

    public Task<Stream> DownloadBlobAsync(string blobId, CancellationToken cancellationToken = default)
    {
        BlobId.Validate(blobId, nameof(blobId));
        return CallAsync<Stream>(() => new MemoryStream(_relay.ReadBlob(_device, blobId), writable: false), cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"InMemoryRelayDirectory({_user}, {_device})";

    private async Task CallAsync(Action call, CancellationToken cancellationToken) =>
        await CallAsync(
            () =>
            {
                call();
                return true;
            },
            cancellationToken).ConfigureAwait(false);

    private async Task<T> CallAsync<T>(Func<T> call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        TimeSpan delay = _relay.Faults.Delay;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _relay.TimeProvider, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        _relay.Faults.ThrowIfCallFails(_device);
        return call();
    }
}

/// <summary>Argument checks every directory implementation makes before anything reaches the relay.</summary>
internal static class DirectoryArguments
{
    /// <summary>One-time prekeys per upload request: half the relay's default per-kind limit, so a host that lowers it a little still accepts them.</summary>
    public const int PrekeysPerUpload = 100;

    /// <summary>Splits a publication into uploads of at most <see cref="PrekeysPerUpload"/> one-time prekeys, each repeating the other keys.</summary>
    public static IEnumerable<DeviceKeyPublication> Split(DeviceKeyPublication publication)
    {
        if (publication.OneTimePrekeys.Count <= PrekeysPerUpload)
        {
            yield return publication;
            yield break;
        }

        foreach (PublicPrekey[] chunk in publication.OneTimePrekeys.Chunk(PrekeysPerUpload))
        {
            yield return publication with { OneTimePrekeys = chunk };
        }
    }

    public static void Check(DeviceKeyPublication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        if (publication.EnvelopeKey is null || publication.SignedPrekey is null || publication.LastResortKemPrekey is null
            || publication.OneTimePrekeys is null || publication.OneTimePrekeys.Any(p => p is null))
        {
            throw new ArgumentException("A publication needs an envelope key, a signed prekey, a last-resort prekey and a list of one-time prekeys without nulls.", nameof(publication));
        }
    }

    public static void Check(UserId user)
    {
        if (user.Value is null)
        {
            throw new ArgumentException("The user id is the default value.", nameof(user));
        }
    }

    public static void Check(DeviceId device)
    {
        if (device.Value is null)
        {
            throw new ArgumentException("The device id is the default value.", nameof(device));
        }
    }

    public static void Check(ClinicId clinic)
    {
        if (clinic.Value is null)
        {
            throw new ArgumentException("The clinic id is the default value.", nameof(clinic));
        }
    }

    public static void CheckItemId(string itemId)
    {
        if (!Identifier.IsValid(itemId))
        {
            throw new ArgumentException("A work item id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.", nameof(itemId));
        }
    }

    public static void CheckBlob(string blobId, Stream ciphertext, long length)
    {
        BlobId.Validate(blobId, nameof(blobId));
        ArgumentNullException.ThrowIfNull(ciphertext);
        if (!ciphertext.CanRead)
        {
            throw new ArgumentException("The ciphertext stream is not readable.", nameof(ciphertext));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
    }

    public static ArgumentException LengthMismatch() => new("The ciphertext stream did not hold exactly length bytes.", "ciphertext");
}
