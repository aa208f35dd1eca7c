namespace TelehealthMessaging.Storage;

/// <summary>
/// Holds the device's own secrets (identity key pair, signed, one-time and KEM prekeys) as opaque named records.
/// </summary>
/// <remarks>
/// <para>
/// The crypto layer serializes each secret itself; a store keeps the bytes and never interprets them. Values are
/// copied in and out: changing an array after <see cref="SetAsync"/>, or the array <see cref="GetAsync"/> returned,
/// never changes the stored record. Callers should zero returned arrays when done.
/// </para>
/// <para>
/// Implementations are safe to call from many threads at once. Each call is atomic: a reader sees the whole old or
/// the whole new value, and after concurrent <see cref="SetAsync"/> calls the record holds one of the written values.
/// Values may be up to 16 MiB.
/// </para>
/// </remarks>
public interface IKeyStore
{
    /// <summary>Reads a record.</summary>
    /// <param name="name">The record's name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A copy of the value, or <see langword="null"/> when there is no such record.</returns>
    ValueTask<byte[]?> GetAsync(KeyRecordName name, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a record.</summary>
    /// <param name="name">The record's name.</param>
    /// <param name="value">The value; copied before the call returns.</param>
    /// <param name="cancellationToken">Cancels the operation; the record then holds the old or the new value.</param>
    /// <returns>A task that completes when the value is stored (durably, for a file store).</returns>
    ValueTask SetAsync(KeyRecordName name, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <summary>Deletes a record.</summary>
    /// <param name="name">The record's name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when a record was deleted; <see langword="false"/> when there was none.</returns>
    ValueTask<bool> DeleteAsync(KeyRecordName name, CancellationToken cancellationToken = default);

    /// <summary>Lists the records of one kind, ordered by id.</summary>
    /// <param name="kind">The kind to list.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The names of the records that exist.</returns>
    Task<IReadOnlyList<KeyRecordName>> ListAsync(KeyRecordKind kind, CancellationToken cancellationToken = default);
}
