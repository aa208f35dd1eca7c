namespace TelehealthMessaging.Storage;

/// <summary>The <see cref="ISessionStore"/> view of an <see cref="EncryptedFileStore"/>.</summary>
internal sealed class EncryptedFileSessionStore(RecordFolder folder) : ISessionStore
{
    public ValueTask<byte[]?> LoadAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        return folder.ReadAsync(RecordAddress.ForSession(peer), cancellationToken);
    }

    public ValueTask StoreAsync(DeviceId peer, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        StoreLimits.CheckValueLength(state.Length, nameof(state));
        return folder.WriteAsync(RecordAddress.ForSession(peer), state, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        return folder.DeleteAsync(RecordAddress.ForSession(peer), cancellationToken);
    }

    public async Task<IReadOnlyList<DeviceId>> ListAsync(CancellationToken cancellationToken = default)
    {
        List<RecordAddress> found = await folder.ListAsync(category => category == RecordAddress.SessionCategory, cancellationToken).ConfigureAwait(false);
        return found.Select(address => address.ToDeviceId()).OrderBy(peer => peer.Value, StringComparer.Ordinal).ToList();
    }

    public override string ToString() => nameof(EncryptedFileSessionStore);
}
