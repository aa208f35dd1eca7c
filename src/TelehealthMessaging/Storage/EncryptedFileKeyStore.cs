namespace TelehealthMessaging.Storage;

/// <summary>The <see cref="IKeyStore"/> view of an <see cref="EncryptedFileStore"/>.</summary>
internal sealed class EncryptedFileKeyStore(RecordFolder folder) : IKeyStore
{
    public ValueTask<byte[]?> GetAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        return folder.ReadAsync(RecordAddress.ForKey(name), cancellationToken);
    }

    public ValueTask SetAsync(KeyRecordName name, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        StoreLimits.CheckValueLength(value.Length);
        return folder.WriteAsync(RecordAddress.ForKey(name), value, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        return folder.DeleteAsync(RecordAddress.ForKey(name), cancellationToken);
    }

    public async Task<IReadOnlyList<KeyRecordName>> ListAsync(KeyRecordKind kind, CancellationToken cancellationToken = default)
    {
        KeyRecordName.ValidateKind(kind, nameof(kind));
        List<RecordAddress> found = await folder.ListAsync(category => category == (byte)kind, cancellationToken).ConfigureAwait(false);
        return found.Select(address => address.ToKeyRecordName()).OrderBy(name => name.Id).ToList();
    }

    public override string ToString() => nameof(EncryptedFileKeyStore);
}
