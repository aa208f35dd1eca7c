namespace TelehealthMessaging.Storage;

/// <summary>An <see cref="IDataStore"/> in process memory, for tests and demos.</summary>
/// <remarks>Thread-safe. Values are copied in and out; replaced, deleted and erased values are zeroed. Nothing survives the process.</remarks>
public sealed class InMemoryDataStore : IDataStore
{
    private readonly InMemoryRecordTable<DataRecordKey> _records = new();

    /// <inheritdoc/>
    public Task SetAsync(DataRecordKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        _records.Set(key, value.Span);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<byte[]?> GetAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_records.Get(key));
    }

    /// <inheritdoc/>
    public Task<bool> DeleteAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_records.Remove(key));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListAsync(string scope, string collection, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        DataRecordNames.Validate(collection, nameof(collection));
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string> names = _records.Keys(k => k.Scope == scope && k.Collection == collection).Select(k => k.Name).Order(StringComparer.Ordinal).ToList();
        return Task.FromResult(names);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListScopesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string> scopes = _records.Keys(_ => true).Select(k => k.Scope).Distinct().Order(StringComparer.Ordinal).ToList();
        return Task.FromResult(scopes);
    }

    /// <inheritdoc/>
    public Task EraseScopeAsync(string scope, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        cancellationToken.ThrowIfCancellationRequested();
        foreach (DataRecordKey key in _records.Keys(k => k.Scope == scope))
        {
            _records.Remove(key);
        }

        return Task.CompletedTask;
    }
}

/// <summary>An <see cref="IDeviceStore"/> in process memory, for tests and demos: nothing survives the process.</summary>
public sealed class InMemoryDeviceStore : IDeviceStore
{
    /// <inheritdoc/>
    public IKeyStore Keys { get; } = new InMemoryKeyStore();

    /// <inheritdoc/>
    public ISessionStore Sessions { get; } = new InMemorySessionStore();

    /// <inheritdoc/>
    public IDataStore Data { get; } = new InMemoryDataStore();

    /// <inheritdoc/>
    public override string ToString() => nameof(InMemoryDeviceStore);
}
