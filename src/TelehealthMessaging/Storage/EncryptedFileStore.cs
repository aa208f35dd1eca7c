using System.Diagnostics.CodeAnalysis;

namespace TelehealthMessaging.Storage;

/// <summary>
/// A folder of encrypted files holding the device's keys (<see cref="Keys"/>), ratchet sessions
/// (<see cref="Sessions"/>) and local data (<see cref="Data"/>), so all three survive restarts.
/// </summary>
/// <remarks>
/// <para>
/// Each key or session record is one file, encrypted with AES-256-GCM under a key derived from the store key, bound to
/// this store and to the record's name, and named by an HMAC of that name so file names reveal no peer or key ids.
/// Each data scope has its own random key, kept as such a record, and a folder of records encrypted under keys derived
/// from it; <see cref="IDataStore.EraseScopeAsync"/> destroys that key first (crypto-shredding). The store key is
/// generated when the folder is first opened and kept wrapped by an <see cref="IKeyProtector"/> in
/// <c>store.header</c>. docs/storage.md describes every byte.
/// </para>
/// <para>
/// Writes replace files atomically (temporary file, flush to disk, rename), so a crash at any point leaves each record
/// with its old or its new value; temporary files and interrupted erases left by a crash are cleaned up on open. All
/// members are safe to call from many threads. Open one instance per folder: two processes sharing a folder are not
/// supported.
/// </para>
/// <para>
/// <see cref="Lock"/>, or <see cref="EncryptedFileStoreOptions.IdleLockTimeout"/> passing without a call, zeroes the
/// keys; until <see cref="UnlockAsync"/> every call raises <see cref="TelehealthException"/> with
/// <see cref="TelehealthErrorCode.StoreLocked"/> and changes nothing. Records that fail authentication raise
/// <see cref="TelehealthException"/> with <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>; I/O problems raise
/// the usual <see cref="IOException"/>s.
/// </para>
/// </remarks>
public sealed class EncryptedFileStore : IDeviceStore, IDisposable
{
    private readonly RecordFolder _folder;
    private readonly EncryptedFileDataStore _data;

    private EncryptedFileStore(RecordFolder folder)
    {
        _folder = folder;
        Keys = new EncryptedFileKeyStore(folder);
        Sessions = new EncryptedFileSessionStore(folder);
        _data = new EncryptedFileDataStore(folder);
    }

    /// <summary>The device's own secrets.</summary>
    public IKeyStore Keys { get; }

    /// <summary>The ratchet sessions with peer devices.</summary>
    public ISessionStore Sessions { get; }

    /// <summary>The device's local data (history, outbox, intake inbox, callbacks, cursors), by scope.</summary>
    public IDataStore Data => _data;

    /// <summary>
    /// <see langword="true"/> when the store holds no keys: after <see cref="Lock"/>, after the idle lock timeout,
    /// or after <see cref="Dispose"/>.
    /// </summary>
    public bool IsLocked => _folder.Keyring.IsLocked;

    /// <summary>Internal access for tests: the record layer and its fault-injection seam.</summary>
    internal RecordFolder Folder => _folder;

    /// <summary>Internal access for tests: the data layer and its fault-injection seam.</summary>
    internal EncryptedFileDataStore DataFiles => _data;

    /// <summary>
    /// Opens the store in <paramref name="directory"/>, creating the folder and a new store key when there is no store
    /// there yet. The store never locks by itself.
    /// </summary>
    /// <param name="directory">The folder; it should be private to the app (app-private storage on mobile).</param>
    /// <param name="keyProtector">Wraps the store key on creation and unwraps it on every open.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open store; dispose it to zero its keys.</returns>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the key does not unwrap (a wrong passphrase), the
    /// header was altered, or the folder holds records but no header. Nothing in the folder is changed.
    /// </exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Only the trailing CancellationToken is optional; the overloads differ by a required options parameter, so no call is ambiguous.")]
    public static Task<EncryptedFileStore> OpenAsync(string directory, IKeyProtector keyProtector, CancellationToken cancellationToken = default) =>
        OpenAsync(directory, keyProtector, new EncryptedFileStoreOptions(), cancellationToken);

    /// <summary>
    /// Opens the store in <paramref name="directory"/> with <paramref name="options"/>, creating the folder and a new
    /// store key when there is no store there yet.
    /// </summary>
    /// <param name="directory">The folder; it should be private to the app (app-private storage on mobile).</param>
    /// <param name="keyProtector">Wraps the store key on creation and unwraps it on every open.</param>
    /// <param name="options">The idle lock and its clock; read once, here.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open, unlocked store; dispose it to zero its keys.</returns>
    /// <exception cref="ArgumentException">An option is out of range; nothing is created.</exception>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the key does not unwrap (a wrong passphrase), the
    /// header was altered, or the folder holds records but no header. Nothing in the folder is changed.
    /// </exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Only the trailing CancellationToken is optional; the overloads differ by a required options parameter, so no call is ambiguous.")]
    public static async Task<EncryptedFileStore> OpenAsync(string directory, IKeyProtector keyProtector, EncryptedFileStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(keyProtector);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string fullPath = Path.GetFullPath(directory);
        RecordFolder folder = await RecordFolder.OpenAsync(fullPath, keyProtector, options.IdleLockTimeout, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        try
        {
            EncryptedFileDataStore.DeleteErasedScopeLeftovers(fullPath);
        }
        catch
        {
            folder.Dispose();
            throw;
        }

        return new EncryptedFileStore(folder);
    }

    /// <summary>
    /// Locks the store now: its keys are zeroed (as soon as calls already running finish) and every later call
    /// raises <see cref="TelehealthErrorCode.StoreLocked"/> until <see cref="UnlockAsync"/>. Idempotent; does nothing
    /// after <see cref="Dispose"/>.
    /// </summary>
    public void Lock() => _folder.Keyring.Lock();

    /// <summary>
    /// Unlocks the store: unwraps the store key with <paramref name="keyProtector"/>, checks it against the header and
    /// derives the working keys again. Also restarts the idle clock when the store is already unlocked.
    /// </summary>
    /// <param name="keyProtector">The protector the store was created with (the same passphrase or platform key).</param>
    /// <param name="cancellationToken">Cancels the operation; the store then stays as it was.</param>
    /// <returns>A task that completes once the store is unlocked.</returns>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the key does not unwrap (a wrong passphrase), or
    /// the header was altered or replaced by another store's. The store stays locked.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public async Task UnlockAsync(IKeyProtector keyProtector, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyProtector);
        ObjectDisposedException.ThrowIf(_folder.Keyring.IsDisposed, this);
        StoreKeys keys = await _folder.DeriveKeysAsync(keyProtector, cancellationToken).ConfigureAwait(false);
        _folder.Keyring.Unlock(keys);
    }

    /// <summary>Zeroes the store's keys; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _folder.Dispose();
        _data.Dispose();
    }

    /// <summary>Returns the type name only; the folder path may name the user.</summary>
    /// <returns><c>EncryptedFileStore</c>.</returns>
    public override string ToString() => nameof(EncryptedFileStore);
}
