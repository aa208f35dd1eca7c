namespace TelehealthMessaging.Storage;

/// <summary>The <see cref="ISessionStore"/> view of an <see cref="EncryptedFileStore"/>.</summary>
internal sealed class EncryptedFileSessionStore(RecordFolder folder) : ISessionStore
{
    public async ValueTask<byte[]?> LoadAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        using KeyLease lease = folder.Keyring.Acquire();
        return await folder.ReadAsync(lease.Keys, RecordAddress.ForSession(peer), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask StoreAsync(DeviceId peer, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        StoreLimits.CheckValueLength(state.Length, nameof(state));
        using KeyLease lease = folder.Keyring.Acquire();
        await folder.WriteAsync(lease.Keys, RecordAddress.ForSession(peer), state, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        using KeyLease lease = folder.Keyring.Acquire();
        return await folder.DeleteAsync(lease.Keys, RecordAddress.ForSession(peer), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeviceId>> ListAsync(CancellationToken cancellationToken = default)
    {
        using KeyLease lease = folder.Keyring.Acquire();
        List<RecordAddress> found = await folder.ListAsync(lease.Keys, category => category == RecordAddress.SessionCategory, cancellationToken).ConfigureAwait(false);
        return found.Select(address => address.ToDeviceId()).OrderBy(peer => peer.Value, StringComparer.Ordinal).ToList();
    }

    public override string ToString() => nameof(EncryptedFileSessionStore);
}
