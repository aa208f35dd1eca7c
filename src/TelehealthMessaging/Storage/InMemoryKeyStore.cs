namespace TelehealthMessaging.Storage;

/// <summary>An <see cref="IKeyStore"/> in process memory, for tests and for apps that keep keys elsewhere.</summary>
/// <remarks>Thread-safe. Values are copied in and out; replaced and deleted values are zeroed. Nothing survives the process.</remarks>
public sealed class InMemoryKeyStore : IKeyStore
{
    private readonly InMemoryRecordTable<KeyRecordName> _records = new();

    /// <inheritdoc/>
    public ValueTask<byte[]?> GetAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_records.Get(name));
    }

    /// <inheritdoc/>
    public ValueTask SetAsync(KeyRecordName name, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        cancellationToken.ThrowIfCancellationRequested();
        _records.Set(name, value.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<bool> DeleteAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        KeyRecordName.Validate(name, nameof(name));
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_records.Remove(name));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<KeyRecordName>> ListAsync(KeyRecordKind kind, CancellationToken cancellationToken = default)
    {
        KeyRecordName.ValidateKind(kind, nameof(kind));
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<KeyRecordName> names = _records.Keys(name => name.Kind == kind).OrderBy(name => name.Id).ToList();
        return Task.FromResult(names);
    }
}
