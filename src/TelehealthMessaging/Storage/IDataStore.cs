namespace TelehealthMessaging.Storage;

/// <summary>
/// The client's local data (history, outbox, intake inbox, callbacks, cursors), grouped in scopes. Each scope is
/// encrypted under its own key, so <see cref="EraseScopeAsync"/> destroys that key and with it every record of the
/// scope (crypto-shredding): what was written can no longer be decrypted from disk or from backups.
/// </summary>
/// <remarks>
/// The client uses one scope per conversation (<c>c/{conversationId}</c>) and the scope <see cref="DeviceScope"/> for
/// device-wide state. Writes are atomic per record; a value read back is byte-identical to the one written.
/// Implementations are thread-safe.
/// </remarks>
public interface IDataStore
{
    /// <summary>The scope for device-wide records.</summary>
    public const string DeviceScope = "device";

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any earlier value.</summary>
    /// <param name="key">The record's address.</param>
    /// <param name="value">At most 16 MiB.</param>
    /// <param name="cancellationToken">Cancels the call; the record then holds either value.</param>
    /// <returns>A task that completes once the value is durable.</returns>
    Task SetAsync(DataRecordKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <summary>Reads a record.</summary>
    /// <param name="key">The record's address.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The value, or <see langword="null"/> when there is none (also after the scope was erased).</returns>
    Task<byte[]?> GetAsync(DataRecordKey key, CancellationToken cancellationToken = default);

    /// <summary>Deletes a record. Idempotent.</summary>
    /// <param name="key">The record's address.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when a record was deleted.</returns>
    Task<bool> DeleteAsync(DataRecordKey key, CancellationToken cancellationToken = default);

    /// <summary>The names of the records in one collection of one scope, in ordinal order.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="collection">The collection.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record names.</returns>
    Task<IReadOnlyList<string>> ListAsync(string scope, string collection, CancellationToken cancellationToken = default);

    /// <summary>The scopes that hold records, in ordinal order.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The scope names.</returns>
    Task<IReadOnlyList<string>> ListScopesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Crypto-shreds a scope: destroys its key first, then deletes its records. Idempotent. Afterwards the scope is
    /// empty and a new write starts it again under a new key.
    /// </summary>
    /// <param name="scope">The scope.</param>
    /// <param name="cancellationToken">Cancels the call; once the key is destroyed the data is gone even if deletion stops.</param>
    /// <returns>A task that completes once the key is destroyed and the records are deleted.</returns>
    Task EraseScopeAsync(string scope, CancellationToken cancellationToken = default);
}

/// <summary>The address of a record in an <see cref="IDataStore"/>.</summary>
/// <remarks>Each part is 1 to 128 characters of <c>A-Z a-z 0-9 - . _ / :</c>; names sort ordinally, so zero-pad sequence numbers.</remarks>
public readonly record struct DataRecordKey
{
    /// <summary>Creates a record address.</summary>
    /// <param name="scope">The scope (a conversation, or <see cref="IDataStore.DeviceScope"/>).</param>
    /// <param name="collection">The collection within the scope.</param>
    /// <param name="name">The record's name within the collection.</param>
    /// <exception cref="ArgumentException">A part is empty, too long or has a character outside the allowed set.</exception>
    public DataRecordKey(string scope, string collection, string name)
    {
        Scope = DataRecordNames.Validate(scope, nameof(scope));
        Collection = DataRecordNames.Validate(collection, nameof(collection));
        Name = DataRecordNames.Validate(name, nameof(name));
    }

    /// <summary>The scope.</summary>
    public string Scope { get; }

    /// <summary>The collection within the scope.</summary>
    public string Collection { get; }

    /// <summary>The record's name within the collection.</summary>
    public string Name { get; }

    /// <summary>Returns <c>scope/collection/name</c>.</summary>
    /// <returns>The address as text.</returns>
    public override string ToString() => $"{Scope}/{Collection}/{Name}";
}

/// <summary>
/// Everything one device keeps locally: its keys, its sessions and its data. <see cref="EncryptedFileStore"/> keeps
/// them encrypted in a folder; <see cref="InMemoryDeviceStore"/> keeps them in memory for tests and demos.
/// </summary>
public interface IDeviceStore
{
    /// <summary>The device's key material.</summary>
    IKeyStore Keys { get; }

    /// <summary>The device's ratchet sessions.</summary>
    ISessionStore Sessions { get; }

    /// <summary>The device's local data.</summary>
    IDataStore Data { get; }
}

internal static class DataRecordNames
{
    public const int MaxLength = 128;

    /// <summary>Refuses <c>default(DataRecordKey)</c>, which bypassed the constructor's checks.</summary>
    public static void CheckKey(DataRecordKey key, string parameterName)
    {
        if (key.Scope is null)
        {
            throw new ArgumentException("The record key is empty; create it with the DataRecordKey constructor.", parameterName);
        }
    }

    public static string Validate(string value, string parameterName)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            throw new ArgumentException($"A record address part must be 1 to {MaxLength} characters.", parameterName);
        }

        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '/' or ':'))
            {
                throw new ArgumentException("A record address part may hold only A-Z a-z 0-9 - . _ / :.", parameterName);
            }
        }

        return value;
    }
}
