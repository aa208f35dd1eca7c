namespace TelehealthMessaging.Storage;

/// <summary>The <see cref="IKeyStore"/> view of an <see cref="EncryptedFileStore"/>.</summary>
internal sealed class EncryptedFileKeyStore(RecordFolder folder) : IKeyStore
{
    public async ValueTask<byte[]?> GetAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        using KeyLease lease = folder.Keyring.Acquire();
        return await folder.ReadAsync(lease.Keys, RecordAddress.ForKey(name), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SetAsync(KeyRecordName name, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        StoreLimits.CheckValueLength(value.Length);
        using KeyLease lease = folder.Keyring.Acquire();
        await folder.WriteAsync(lease.Keys, RecordAddress.ForKey(name), value, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        using KeyLease lease = folder.Keyring.Acquire();
        return await folder.DeleteAsync(lease.Keys, RecordAddress.ForKey(name), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<KeyRecordName>> ListAsync(KeyRecordKind kind, CancellationToken cancellationToken = default)
    {
        KeyRecordName.ValidateKind(kind, nameof(kind));
        using KeyLease lease = folder.Keyring.Acquire();
        List<RecordAddress> found = await folder.ListAsync(lease.Keys, category => category == (byte)kind, cancellationToken).ConfigureAwait(false);
        return found.Select(address => address.ToKeyRecordName()).OrderBy(name => name.Id).ToList();
    }

    public override string ToString() => nameof(EncryptedFileKeyStore);
}
