using System.Security.Cryptography;

namespace TelehealthMessaging.Storage;

/// <summary>
/// The <see cref="IDataStore"/> view of an <see cref="EncryptedFileStore"/>: one folder per scope, each sealed under
/// the scope's own random key, which is kept as a record under the store key and shredded to erase the scope.
/// </summary>
/// <remarks>
/// <para>
/// Scope <c>s</c> has a key record (<see cref="RecordAddress.ForScopeKey"/>) in the store folder and a folder named
/// by that record's token plus <c>.scope</c>, holding its records (<c>.rec</c>) and one index per collection
/// (<c>.idx</c>) in <see cref="ScopeRecordFormat"/>. Creating a scope writes the key record before the folder;
/// erasing it shreds the key record before deleting the folder, so a folder without a key record is always the
/// unreadable leftover of an interrupted erase, and is deleted on the next open or erase.
/// </para>
/// <para>
/// The index of a collection is a superset of its records: a name is added to the index before its record is
/// written and removed after its record is deleted. A crash in between leaves a name without a record, never a
/// record without a name; listing filters names by the record files present, so it neither loses a record nor lists
/// a missing one, and the next index write drops the stale names.
/// </para>
/// <para>
/// Calls on one scope are serialized by one of 64 striped locks chosen by the scope name (the index needs a
/// read-modify-write and erase must not meet a write); calls on different scopes rarely wait for each other. Erases
/// also take one store-wide lock, because their clean-up touches every scope's leftovers.
/// </para>
/// </remarks>
internal sealed class EncryptedFileDataStore : IDataStore, IDisposable
{
    private const int StripeCount = 64;

    private readonly RecordFolder _folder;
    private readonly SemaphoreSlim[] _stripes;
    private readonly SemaphoreSlim _eraseGate = new(1, 1);

    public EncryptedFileDataStore(RecordFolder folder)
    {
        _folder = folder;
        _stripes = new SemaphoreSlim[StripeCount];
        for (int i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>Test seam: runs right after an erase destroyed the scope key; it may throw to simulate a crash.</summary>
    internal Action? AfterScopeKeyDestroyedForTesting { get; set; }

    public async Task SetAsync(DataRecordKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        StoreLimits.CheckValueLength(value.Length);
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        SemaphoreSlim stripe = Stripe(key.Scope);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ScopeKeys scope = (await GetScopeAsync(lease.Keys, key.Scope, create: true, cancellationToken).ConfigureAwait(false))!;
            string directory = ScopeDirectory(scope);
            Directory.CreateDirectory(directory);
            byte[] token = ScopeRecordFormat.RecordToken(scope, key.Collection, key.Name);
            List<string> names = await ReadIndexAsync(lease.Keys, scope, key.Collection, cancellationToken).ConfigureAwait(false);
            int position = names.BinarySearch(key.Name, StringComparer.Ordinal);
            if (position < 0)
            {
                // The name goes into the index before the record is written, so no crash can hide a record.
                names = KeepExisting(scope, key.Collection, names);
                position = names.BinarySearch(key.Name, StringComparer.Ordinal);
                names.Insert(~position, key.Name);
                await WriteIndexAsync(lease.Keys, scope, key.Collection, names, cancellationToken).ConfigureAwait(false);
            }

            byte[] file = ScopeRecordFormat.SealRecord(lease.Keys, scope, token, key.Collection, key.Name, value.Span);
            string fileName = ScopeRecordFormat.FileName(token, ScopeRecordFormat.RecordExtension);
            await AtomicFile.WriteAsync(directory, fileName, file, _folder.AfterPartialWriteForTesting, overwrite: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }
    }

    public async Task<byte[]?> GetAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        SemaphoreSlim stripe = Stripe(key.Scope);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ScopeKeys? scope = await GetScopeAsync(lease.Keys, key.Scope, create: false, cancellationToken).ConfigureAwait(false);
            if (scope is null)
            {
                return null;
            }

            byte[] token = ScopeRecordFormat.RecordToken(scope, key.Collection, key.Name);
            string path = Path.Combine(ScopeDirectory(scope), ScopeRecordFormat.FileName(token, ScopeRecordFormat.RecordExtension));
            byte[]? file = await ReadScopeFileAsync(path, cancellationToken).ConfigureAwait(false);
            return file is null ? null : ScopeRecordFormat.OpenRecord(lease.Keys, scope, token, key.Collection, key.Name, file);
        }
        finally
        {
            stripe.Release();
        }
    }

    public async Task<bool> DeleteAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        DataRecordNames.CheckKey(key, nameof(key));
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        SemaphoreSlim stripe = Stripe(key.Scope);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ScopeKeys? scope = await GetScopeAsync(lease.Keys, key.Scope, create: false, cancellationToken).ConfigureAwait(false);
            if (scope is null)
            {
                return false;
            }

            byte[] token = ScopeRecordFormat.RecordToken(scope, key.Collection, key.Name);
            string path = Path.Combine(ScopeDirectory(scope), ScopeRecordFormat.FileName(token, ScopeRecordFormat.RecordExtension));
            if (!File.Exists(path))
            {
                return false;
            }

            File.Delete(path);

            // The record is gone; the index is tidied without the caller's token, so the call's answer stays true.
            // Should this fail, the stale name is filtered out by listing and dropped by the next index write.
            List<string> names = await ReadIndexAsync(lease.Keys, scope, key.Collection, CancellationToken.None).ConfigureAwait(false);
            await WriteIndexAsync(lease.Keys, scope, key.Collection, KeepExisting(scope, key.Collection, names), CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async Task<IReadOnlyList<string>> ListAsync(string scope, string collection, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        DataRecordNames.Validate(collection, nameof(collection));
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        SemaphoreSlim stripe = Stripe(scope);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ScopeKeys? keys = await GetScopeAsync(lease.Keys, scope, create: false, cancellationToken).ConfigureAwait(false);
            if (keys is null)
            {
                return [];
            }

            List<string> names = await ReadIndexAsync(lease.Keys, keys, collection, cancellationToken).ConfigureAwait(false);
            return KeepExisting(keys, collection, names);
        }
        finally
        {
            stripe.Release();
        }
    }

    public async Task<IReadOnlyList<string>> ListScopesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        List<RecordAddress> found = await _folder.ListAsync(lease.Keys, category => category == RecordAddress.ScopeKeyCategory, cancellationToken).ConfigureAwait(false);
        var scopes = new List<string>();
        foreach (RecordAddress address in found)
        {
            // A scope whose records were all deleted keeps its key but holds no records, so it is not listed.
            string directory = ScopeDirectory(RecordFolder.Token(lease.Keys, address.Category, address.Name));
            if (HoldsRecords(directory))
            {
                scopes.Add(address.ToScopeName());
            }
        }

        scopes.Sort(StringComparer.Ordinal);
        return scopes;
    }

    public async Task EraseScopeAsync(string scope, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        cancellationToken.ThrowIfCancellationRequested();
        using KeyLease lease = _folder.Keyring.Acquire();
        SemaphoreSlim stripe = Stripe(scope);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _eraseGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // The one atomic step: once the key record is renamed away, the scope's files can never be decrypted.
                // Nothing after it observes the token, so an erase never stops half-way through on cancellation.
                await _folder.ShredAsync(lease.Keys, RecordAddress.ForScopeKey(scope)).ConfigureAwait(false);
                lease.Keys.RemoveScope(scope);
                _folder.Keyring.ForgetScope(scope);
                AfterScopeKeyDestroyedForTesting?.Invoke();
                DeleteErasedScopeLeftovers(_folder.Directory);
            }
            finally
            {
                _eraseGate.Release();
            }
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>Called by the store's dispose, after its keys are gone, so no call can be waiting here any more.</summary>
    public void Dispose() => _eraseGate.Dispose();

    public override string ToString() => nameof(EncryptedFileDataStore);

    /// <summary>
    /// Deletes what interrupted erases left: shredded key records, and scope folders whose key record is gone (their
    /// files are ciphertext under a destroyed key). Runs at open and under the erase lock.
    /// </summary>
    internal static void DeleteErasedScopeLeftovers(string directory)
    {
        foreach (string path in Directory.EnumerateFiles(directory, "*" + RecordFolder.ShredExtension))
        {
            RecordFolder.OverwriteAndDelete(path);
        }

        foreach (string scopeDirectory in Directory.EnumerateDirectories(directory, "*" + RecordFolder.ScopeFolderExtension))
        {
            string keyRecord = Path.Combine(directory, Path.GetFileNameWithoutExtension(scopeDirectory) + RecordFolder.RecordExtension);
            if (!File.Exists(keyRecord))
            {
                DeleteDirectory(scopeDirectory);
            }
        }
    }

    /// <summary>The folder of a scope, named by its key record's token.</summary>
    internal string ScopeDirectory(byte[] scopeToken) => Path.Combine(_folder.Directory, Convert.ToHexString(scopeToken) + RecordFolder.ScopeFolderExtension);

    private static bool HoldsRecords(string directory)
    {
        try
        {
            return Directory.EnumerateFiles(directory, "*" + ScopeRecordFormat.RecordExtension).Any();
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static async Task<byte[]?> ReadScopeFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await RecordFolder.ReadFileAsync(path, ScopeRecordFormat.MaxFileLength, cancellationToken).ConfigureAwait(false);
        }
        catch (DirectoryNotFoundException)
        {
            // A key record written by a process that died before it created the scope's folder.
            return null;
        }
    }

    private string ScopeDirectory(ScopeKeys scope) => ScopeDirectory(scope.Token);

    /// <summary>The scope's keys from the cache or its key record; creates the scope when asked and it has none.</summary>
    private async Task<ScopeKeys?> GetScopeAsync(StoreKeys keys, string scope, bool create, CancellationToken cancellationToken)
    {
        if (keys.TryGetScope(scope, out ScopeKeys? cached))
        {
            return cached;
        }

        RecordAddress address = RecordAddress.ForScopeKey(scope);
        byte[] token = RecordFolder.Token(keys, address.Category, address.Name);
        byte[]? scopeKey = await _folder.ReadAsync(keys, address, cancellationToken).ConfigureAwait(false);
        if (scopeKey is null)
        {
            if (!create)
            {
                return null;
            }

            string directory = ScopeDirectory(token);
            if (Directory.Exists(directory))
            {
                // Left by an erase that was interrupted before its clean-up: unreadable, and in the new scope's way.
                await _eraseGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    DeleteDirectory(directory);
                }
                finally
                {
                    _eraseGate.Release();
                }
            }

            scopeKey = RandomNumberGenerator.GetBytes(ScopeKeys.ScopeKeySize);
            try
            {
                await _folder.WriteAsync(keys, address, scopeKey, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                CryptographicOperations.ZeroMemory(scopeKey);
                throw;
            }
        }

        try
        {
            ScopeKeys derived = ScopeKeys.Derive(keys.StoreId, token, scopeKey);
            keys.AddScope(scope, derived);
            return derived;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scopeKey);
        }
    }

    private async Task<List<string>> ReadIndexAsync(StoreKeys keys, ScopeKeys scope, string collection, CancellationToken cancellationToken)
    {
        byte[] token = ScopeRecordFormat.IndexToken(scope, collection);
        string path = Path.Combine(ScopeDirectory(scope), ScopeRecordFormat.FileName(token, ScopeRecordFormat.IndexExtension));
        byte[]? file = await ReadScopeFileAsync(path, cancellationToken).ConfigureAwait(false);
        return file is null ? [] : ScopeRecordFormat.OpenIndex(keys, scope, token, collection, file);
    }

    private async Task WriteIndexAsync(StoreKeys keys, ScopeKeys scope, string collection, List<string> names, CancellationToken cancellationToken)
    {
        byte[] token = ScopeRecordFormat.IndexToken(scope, collection);
        byte[] file = ScopeRecordFormat.SealIndex(keys, scope, token, collection, names);
        string fileName = ScopeRecordFormat.FileName(token, ScopeRecordFormat.IndexExtension);
        await AtomicFile.WriteAsync(ScopeDirectory(scope), fileName, file, _folder.AfterPartialWriteForTesting, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The names whose record file exists: one directory listing instead of one decryption per record.</summary>
    private List<string> KeepExisting(ScopeKeys scope, string collection, List<string> names)
    {
        if (names.Count == 0)
        {
            return names;
        }

        HashSet<string> present;
        try
        {
            present = Directory.EnumerateFiles(ScopeDirectory(scope), "*" + ScopeRecordFormat.RecordExtension)
                .Select(Path.GetFileName)
                .ToHashSet(StringComparer.Ordinal)!;
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }

        return names.Where(name => present.Contains(ScopeRecordFormat.FileName(ScopeRecordFormat.RecordToken(scope, collection, name), ScopeRecordFormat.RecordExtension))).ToList();
    }

    private SemaphoreSlim Stripe(string scope) => _stripes[(StringComparer.Ordinal.GetHashCode(scope) & int.MaxValue) % StripeCount];
}
