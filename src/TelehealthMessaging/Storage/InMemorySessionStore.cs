namespace TelehealthMessaging.Storage;

/// <summary>An <see cref="ISessionStore"/> in process memory, for tests and short-lived clients.</summary>
/// <remarks>Thread-safe. States are copied in and out; replaced and deleted states are zeroed. Nothing survives the process.</remarks>
public sealed class InMemorySessionStore : ISessionStore
{
    private readonly InMemoryRecordTable<DeviceId> _records = new();

    /// <inheritdoc/>
    public ValueTask<byte[]?> LoadAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_records.Get(peer));
    }

    /// <inheritdoc/>
    public ValueTask StoreAsync(DeviceId peer, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        StoreLimits.CheckValueLength(state.Length, nameof(state));
        cancellationToken.ThrowIfCancellationRequested();
        _records.Set(peer, state.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<bool> DeleteAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckPeer(peer, nameof(peer));
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_records.Remove(peer));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DeviceId>> ListAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<DeviceId> peers = _records.Keys(_ => true).OrderBy(peer => peer.Value, StringComparer.Ordinal).ToList();
        return Task.FromResult(peers);
    }
}
