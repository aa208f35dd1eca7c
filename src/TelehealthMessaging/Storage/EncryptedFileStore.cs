namespace TelehealthMessaging.Storage;

/// <summary>
/// A folder of encrypted files holding the device's keys (<see cref="Keys"/>) and ratchet sessions
/// (<see cref="Sessions"/>), so both survive restarts.
/// </summary>
/// <remarks>
/// <para>
/// Each record is one file, encrypted with AES-256-GCM under a key derived from the store key, bound to this store and
/// to the record's name, and named by an HMAC of that name so file names reveal no peer or key ids. The store key is
/// generated when the folder is first opened and kept wrapped by an <see cref="IKeyProtector"/> in
/// <c>store.header</c>. docs/storage.md describes every byte.
/// </para>
/// <para>
/// Writes replace files atomically (temporary file, flush to disk, rename), so a crash at any point leaves each record
/// with its old or its new value; temporary files left by a crash are deleted on open. All members are safe to call
/// from many threads. Open one instance per folder: two processes sharing a folder are not supported.
/// </para>
/// <para>
/// Records that fail authentication raise <see cref="TelehealthException"/> with
/// <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>; I/O problems raise the usual <see cref="IOException"/>s.
/// </para>
/// </remarks>
public sealed class EncryptedFileStore : IDisposable
{
    private readonly RecordFolder _folder;

    private EncryptedFileStore(RecordFolder folder)
    {
        _folder = folder;
        Keys = new EncryptedFileKeyStore(folder);
        Sessions = new EncryptedFileSessionStore(folder);
    }

    /// <summary>The device's own secrets.</summary>
    public IKeyStore Keys { get; }

    /// <summary>The ratchet sessions with peer devices.</summary>
    public ISessionStore Sessions { get; }

    /// <summary>Internal access for tests: the record layer and its fault-injection seam.</summary>
    internal RecordFolder Folder => _folder;

    /// <summary>
    /// Opens the store in <paramref name="directory"/>, creating the folder and a new store key when there is no store
    /// there yet.
    /// </summary>
    /// <param name="directory">The folder; it should be private to the app (app-private storage on mobile).</param>
    /// <param name="keyProtector">Wraps the store key on creation and unwraps it on every open.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open store; dispose it to zero its keys.</returns>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the key does not unwrap (a wrong passphrase), the
    /// header was altered, or the folder holds records but no header. Nothing in the folder is changed.
    /// </exception>
    public static async Task<EncryptedFileStore> OpenAsync(string directory, IKeyProtector keyProtector, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(keyProtector);
        RecordFolder folder = await RecordFolder.OpenAsync(Path.GetFullPath(directory), keyProtector, cancellationToken).ConfigureAwait(false);
        return new EncryptedFileStore(folder);
    }

    /// <summary>Zeroes the store's keys; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _folder.Dispose();

    /// <summary>Returns the type name only; the folder path may name the user.</summary>
    /// <returns><c>EncryptedFileStore</c>.</returns>
    public override string ToString() => nameof(EncryptedFileStore);
}
