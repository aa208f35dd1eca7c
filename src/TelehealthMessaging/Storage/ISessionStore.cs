namespace TelehealthMessaging.Storage;

/// <summary>Holds the ratchet session state for each peer device as opaque bytes.</summary>
/// <remarks>
/// <para>
/// The session layer serializes its own state; a store keeps the bytes and never interprets them. Values are copied
/// in and out, so a caller can zero its arrays without affecting the store.
/// </para>
/// <para>
/// Implementations are safe to call from many threads at once. Each call is atomic: a reader sees the whole old or
/// the whole new state, and a file-backed store never loses or tears a session when the process dies mid-write.
/// States may be up to 16 MiB.
/// </para>
/// </remarks>
public interface ISessionStore
{
    /// <summary>Reads the session state for a peer device.</summary>
    /// <param name="peer">The peer device.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A copy of the state, or <see langword="null"/> when there is no session with that device.</returns>
    ValueTask<byte[]?> LoadAsync(DeviceId peer, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces the session state for a peer device.</summary>
    /// <param name="peer">The peer device.</param>
    /// <param name="state">The serialized state; copied before the call returns.</param>
    /// <param name="cancellationToken">Cancels the operation; the store then holds the old or the new state.</param>
    /// <returns>A task that completes when the state is stored (durably, for a file store).</returns>
    ValueTask StoreAsync(DeviceId peer, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default);

    /// <summary>Deletes the session with a peer device.</summary>
    /// <param name="peer">The peer device.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when a session was deleted; <see langword="false"/> when there was none.</returns>
    ValueTask<bool> DeleteAsync(DeviceId peer, CancellationToken cancellationToken = default);

    /// <summary>Lists the peer devices that have a stored session, ordered by id.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The peer devices.</returns>
    Task<IReadOnlyList<DeviceId>> ListAsync(CancellationToken cancellationToken = default);
}
