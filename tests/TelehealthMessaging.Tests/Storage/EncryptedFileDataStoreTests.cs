using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

public sealed class EncryptedFileDataStoreTests : IDisposable
{
    private const string Erased = "c/conv-erased";
    private const string Kept = "c/conv-kept";
    private const string Canary = "CANARY-PHI-erased-7f3a";
    private const string KeptCanary = "KEPT-PHI-9c1d";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Data_survives_a_restart()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), "one"u8.ToArray());
            await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0002"), "two"u8.ToArray());
            await store.Data.SetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay"), "42"u8.ToArray());
        }

        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);

        Assert.Equal("two"u8.ToArray(), await reopened.Data.GetAsync(new DataRecordKey(Kept, "history", "0002")));
        Assert.Equal(["0001", "0002"], await reopened.Data.ListAsync(Kept, "history"));
        Assert.Equal([Kept, IDataStore.DeviceScope], await reopened.Data.ListScopesAsync());
        Assert.Equal("42"u8.ToArray(), await reopened.Data.GetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay")));
    }

    [Fact]
    public async Task Erasing_a_scope_leaves_no_canary_in_any_file_even_decrypted_with_every_remaining_key()
    {
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        EncryptedFileStore store = await EncryptedFileStore.OpenAsync(_folder.Path, protector);
        await WriteCanariesAsync(store);

        // The scan sees the canary before the erase, so it is able to fail.
        FolderContents before = DecryptEverything(store);
        Assert.Empty(before.Undecryptable);
        Assert.True(before.Plaintexts.Any(ContainsCanary), "the scan should find the canary before erasing");
        Assert.Equal([Erased, Kept], before.ScopeNames.Order(StringComparer.Ordinal));

        await store.Data.EraseScopeAsync(Erased);

        FolderContents after = DecryptEverything(store);
        Assert.Empty(after.Undecryptable);
        Assert.Equal([Kept], after.ScopeNames);
        Assert.DoesNotContain(after.Names, name => name.Contains("CANARY", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(after.RawFiles, ContainsCanary);
        Assert.DoesNotContain(after.Plaintexts, ContainsCanary);
        Assert.Contains(after.Plaintexts, plaintext => plaintext.AsSpan().IndexOf(Encoding.UTF8.GetBytes(KeptCanary)) >= 0);
        Assert.Equal(Encoding.UTF8.GetBytes(KeptCanary), await store.Data.GetAsync(new DataRecordKey(Kept, "history", "0001")));
        Assert.Equal(["0001", "0002"], await store.Data.ListAsync(Kept, "history"));

        store.Dispose();
        using EncryptedFileStore reopened = await EncryptedFileStore.OpenAsync(_folder.Path, protector);
        Assert.Null(await reopened.Data.GetAsync(new DataRecordKey(Erased, "history", "0001")));
        Assert.Empty(await reopened.Data.ListAsync(Erased, "history"));
        Assert.Empty(await reopened.Data.ListAsync(Erased, "outbox"));
        Assert.Equal([Kept], await reopened.Data.ListScopesAsync());
        Assert.Equal(Encoding.UTF8.GetBytes(KeptCanary), await reopened.Data.GetAsync(new DataRecordKey(Kept, "history", "0001")));
        Assert.Equal(LargeKeptValue(), await reopened.Data.GetAsync(new DataRecordKey(Kept, "history", "0002")));
        Assert.Equal(new byte[] { 7 }, await reopened.Sessions.LoadAsync(new DeviceId("peer-1")));
    }

    [Theory]
    [InlineData("reopen")]
    [InlineData("erase the same scope")]
    [InlineData("erase another scope")]
    [InlineData("write to the erased scope")]
    public async Task An_erase_interrupted_after_the_key_is_destroyed_leaves_only_unreadable_leftovers_that_are_cleaned_later(string next)
    {
        EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await WriteCanariesAsync(store);
        await store.Data.SetAsync(new DataRecordKey("c/third", "history", "0001"), new byte[] { 3 });
        store.DataFiles.AfterScopeKeyDestroyedForTesting = () => throw new IOException("simulated crash after the key was destroyed");

        await Assert.ThrowsAsync<IOException>(() => store.Data.EraseScopeAsync(Erased));

        store.DataFiles.AfterScopeKeyDestroyedForTesting = null;
        Assert.Null(await store.Data.GetAsync(new DataRecordKey(Erased, "history", "0001")));
        Assert.Empty(await store.Data.ListAsync(Erased, "history"));
        Assert.Equal([Kept, "c/third"], await store.Data.ListScopesAsync());
        FolderContents leftovers = DecryptEverything(store);
        Assert.NotEmpty(leftovers.Undecryptable);
        Assert.DoesNotContain(leftovers.RawFiles, ContainsCanary);
        Assert.DoesNotContain(leftovers.Plaintexts, ContainsCanary);

        switch (next)
        {
            case "reopen":
                store.Dispose();
                store = await StoreFixtures.OpenAsync(_folder);
                break;
            case "erase the same scope":
                await store.Data.EraseScopeAsync(Erased);
                break;
            case "erase another scope":
                await store.Data.EraseScopeAsync("c/third");
                break;
            default:
                await store.Data.SetAsync(new DataRecordKey(Erased, "history", "0009"), new byte[] { 9 });
                Assert.Equal(["0009"], await store.Data.ListAsync(Erased, "history"));
                Assert.Null(await store.Data.GetAsync(new DataRecordKey(Erased, "history", "0001")));
                break;
        }

        using (store)
        {
            FolderContents cleaned = DecryptEverything(store);
            Assert.Empty(cleaned.Undecryptable);
            Assert.DoesNotContain(cleaned.Plaintexts, ContainsCanary);
            Assert.Empty(Directory.GetFiles(_folder.Path, "*.shred"));
            Assert.Equal(Encoding.UTF8.GetBytes(KeptCanary), await store.Data.GetAsync(new DataRecordKey(Kept, "history", "0001")));
        }
    }

    [Fact]
    public async Task An_erase_removes_the_scope_key_record_first_and_leaves_no_shredded_copy()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Data.SetAsync(new DataRecordKey(Erased, "history", "0001"), new byte[] { 1 });
        string keyRecord = Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForScopeKey(Erased)));
        Assert.True(File.Exists(keyRecord));
        byte[]? shreddedContents = null;
        store.DataFiles.AfterScopeKeyDestroyedForTesting = () =>
        {
            Assert.False(File.Exists(keyRecord));
            shreddedContents = Directory.GetFiles(_folder.Path, "*.shred").Select(File.ReadAllBytes).SingleOrDefault();
        };

        await store.Data.EraseScopeAsync(Erased);

        // The shredded copy is overwritten and deleted before the seam runs: nothing is left to read.
        Assert.Null(shreddedContents);
        Assert.False(File.Exists(keyRecord));
        Assert.Empty(Directory.GetDirectories(_folder.Path));
    }

    [Fact]
    public async Task A_crash_before_a_new_record_lands_neither_lists_it_nor_loses_an_existing_one()
    {
        EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        var existing = new DataRecordKey(Kept, "history", "0001");
        var incoming = new DataRecordKey(Kept, "history", "0002");
        await store.Data.SetAsync(existing, "old"u8.ToArray());
        store.Folder.AfterPartialWriteForTesting = path =>
        {
            if (path.Contains(".rec.", StringComparison.Ordinal))
            {
                throw new IOException("simulated crash between the index write and the record write");
            }
        };

        await Assert.ThrowsAsync<IOException>(() => store.Data.SetAsync(incoming, "new"u8.ToArray()));
        await Assert.ThrowsAsync<IOException>(() => store.Data.SetAsync(existing, "replacement"u8.ToArray()));

        store.Folder.AfterPartialWriteForTesting = null;
        Assert.Equal(["0001"], await store.Data.ListAsync(Kept, "history"));
        Assert.Null(await store.Data.GetAsync(incoming));
        Assert.Equal("old"u8.ToArray(), await store.Data.GetAsync(existing));

        store.Dispose();
        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);
        Assert.Equal(["0001"], await reopened.Data.ListAsync(Kept, "history"));
        await reopened.Data.SetAsync(new DataRecordKey(Kept, "history", "0003"), "three"u8.ToArray());
        Assert.Equal(["0001", "0003"], await reopened.Data.ListAsync(Kept, "history"));
    }

    [Fact]
    public async Task A_crash_while_writing_the_index_leaves_the_collection_as_it_was()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), "old"u8.ToArray());
        store.Folder.AfterPartialWriteForTesting = path =>
        {
            if (path.Contains(".idx.", StringComparison.Ordinal))
            {
                throw new IOException("simulated crash in the index write");
            }
        };

        await Assert.ThrowsAsync<IOException>(() => store.Data.SetAsync(new DataRecordKey(Kept, "history", "0002"), "new"u8.ToArray()));

        store.Folder.AfterPartialWriteForTesting = null;
        Assert.Equal(["0001"], await store.Data.ListAsync(Kept, "history"));
        Assert.Null(await store.Data.GetAsync(new DataRecordKey(Kept, "history", "0002")));
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_crash_after_a_delete_but_before_the_index_write_does_not_list_the_deleted_record()
    {
        EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Data.SetAsync(new DataRecordKey(Kept, "outbox", "m1"), new byte[] { 1 });
        await store.Data.SetAsync(new DataRecordKey(Kept, "outbox", "m2"), new byte[] { 2 });
        store.Folder.AfterPartialWriteForTesting = path =>
        {
            if (path.Contains(".idx.", StringComparison.Ordinal))
            {
                throw new IOException("simulated crash in the index write");
            }
        };

        await Assert.ThrowsAsync<IOException>(() => store.Data.DeleteAsync(new DataRecordKey(Kept, "outbox", "m1")));

        store.Folder.AfterPartialWriteForTesting = null;
        Assert.Equal(["m2"], await store.Data.ListAsync(Kept, "outbox"));
        store.Dispose();
        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);
        Assert.Equal(["m2"], await reopened.Data.ListAsync(Kept, "outbox"));
        Assert.Null(await reopened.Data.GetAsync(new DataRecordKey(Kept, "outbox", "m1")));
    }

    [Fact]
    public async Task File_and_folder_names_reveal_no_scope_collection_or_record_name()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Data.SetAsync(new DataRecordKey("c/CANARY-conversation", "CANARY-collection", "CANARY-name"), "CANARY-value"u8.ToArray());
        await store.Data.SetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay"), new byte[] { 1 });

        string[] paths = Directory.EnumerateFileSystemEntries(_folder.Path, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(_folder.Path, path).Replace('\\', '/'))
            .ToArray();

        Assert.All(paths, path => Assert.Matches("^(store\\.header|[0-9A-F]{64}\\.(rec|scope)|[0-9A-F]{64}\\.scope/[0-9A-F]{64}\\.(rec|idx))$", path));
        Assert.Equal(2, paths.Count(path => path.EndsWith(".scope", StringComparison.Ordinal)));
        Assert.DoesNotContain(_folder.Snapshot().Values, bytes => bytes.AsSpan().IndexOf("CANARY"u8) >= 0);
    }

    [Fact]
    public async Task A_record_file_copied_over_another_record_or_into_another_scope_fails_to_open()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        var first = new DataRecordKey(Kept, "history", "0001");
        var second = new DataRecordKey(Kept, "history", "0002");
        var elsewhere = new DataRecordKey(Erased, "history", "0001");
        await store.Data.SetAsync(first, new byte[] { 1 });
        await store.Data.SetAsync(second, new byte[] { 2 });
        await store.Data.SetAsync(elsewhere, new byte[] { 3 });

        File.Copy(RecordPath(store, first), RecordPath(store, second), overwrite: true);
        File.Copy(RecordPath(store, first), RecordPath(store, elsewhere), overwrite: true);

        var copied = await Assert.ThrowsAsync<CryptographicFailureException>(() => store.Data.GetAsync(second));
        var moved = await Assert.ThrowsAsync<CryptographicFailureException>(() => store.Data.GetAsync(elsewhere));
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, copied.Reason);
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, moved.Reason);
        Assert.Equal(new byte[] { 1 }, await store.Data.GetAsync(first));
    }

    [Fact]
    public async Task An_index_copied_over_another_collections_index_fails_to_list()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), new byte[] { 1 });
        await store.Data.SetAsync(new DataRecordKey(Kept, "outbox", "m1"), new byte[] { 2 });

        File.Copy(IndexPath(store, Kept, "history"), IndexPath(store, Kept, "outbox"), overwrite: true);

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => store.Data.ListAsync(Kept, "outbox"));
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        Assert.Equal(["0001"], await store.Data.ListAsync(Kept, "history"));
    }

    [Fact]
    public async Task A_flipped_bit_in_a_record_or_index_file_is_a_typed_error()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        var key = new DataRecordKey(Kept, "history", "0001");
        await store.Data.SetAsync(key, Encoding.UTF8.GetBytes("value to protect"));
        string record = Directory.GetFiles(ScopeFolder(store, Kept), "*.rec").Single();
        string index = Directory.GetFiles(ScopeFolder(store, Kept), "*.idx").Single();

        foreach ((string path, Func<Task> read) in new (string, Func<Task>)[] { (record, () => store.Data.GetAsync(key)), (index, () => store.Data.ListAsync(Kept, "history")) })
        {
            byte[] original = File.ReadAllBytes(path);
            for (int position = 0; position < original.Length; position++)
            {
                byte[] altered = (byte[])original.Clone();
                altered[position] ^= 0x04;
                File.WriteAllBytes(path, altered);

                var failure = await Assert.ThrowsAsync<CryptographicFailureException>(read);
                Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
            }

            File.WriteAllBytes(path, original);
        }

        Assert.Equal(Encoding.UTF8.GetBytes("value to protect"), await store.Data.GetAsync(key));
    }

    [Fact]
    public async Task A_folder_holding_only_scope_folders_but_no_header_is_refused()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), new byte[] { 1 });
        }

        File.Delete(Path.Combine(_folder.Path, "store.header"));
        foreach (string file in Directory.GetFiles(_folder.Path, "*.rec"))
        {
            File.Delete(file);
        }

        var before = _folder.Snapshot();

        await Assert.ThrowsAsync<CryptographicFailureException>(() => StoreFixtures.OpenAsync(_folder));

        Assert.Equal(before, _folder.Snapshot());
    }

    [Fact]
    public async Task Temporary_files_left_in_a_scope_folder_are_deleted_at_open()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), new byte[] { 1 });
            File.WriteAllBytes(Path.Combine(ScopeFolder(store, Kept), "ABCD.rec.0123.tmp"), new byte[] { 1, 2, 3 });
        }

        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);

        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(new byte[] { 1 }, await reopened.Data.GetAsync(new DataRecordKey(Kept, "history", "0001")));
    }

    [Fact]
    public async Task A_shredded_key_record_left_by_a_crash_is_deleted_at_open()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), new byte[] { 1 });
        }

        // A crash between the rename and the overwrite leaves the renamed record; larger than any key record, to be safe.
        string leftover = Path.Combine(_folder.Path, new string('A', 64) + ".shred");
        File.WriteAllBytes(leftover, new byte[10_000]);

        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);

        Assert.False(File.Exists(leftover));
        Assert.Equal(new byte[] { 1 }, await reopened.Data.GetAsync(new DataRecordKey(Kept, "history", "0001")));
    }

    [Fact]
    public async Task Data_store_ToString_reveals_nothing()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);

        Assert.Equal("EncryptedFileDataStore", store.Data.ToString());
    }

    private static byte[] LargeKeptValue() => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(KeptCanary + " ", 50_000)));

    private static bool ContainsCanary(byte[] bytes) =>
        bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Canary)) >= 0 || bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(Canary)) >= 0;

    private static async Task WriteCanariesAsync(EncryptedFileStore store)
    {
        byte[] large = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Canary + " ", 150_000)));
        await store.Data.SetAsync(new DataRecordKey(Erased, "history", "0001"), Encoding.UTF8.GetBytes(Canary + " message text"));
        await store.Data.SetAsync(new DataRecordKey(Erased, "history", "0002"), large);
        await store.Data.SetAsync(new DataRecordKey(Erased, "outbox", "m-1"), Encoding.Unicode.GetBytes("outgoing " + Canary));
        await store.Data.SetAsync(new DataRecordKey(Erased, "attachments", "a-1"), large.Concat(Encoding.UTF8.GetBytes(Canary)).ToArray());
        await store.Data.SetAsync(new DataRecordKey(Erased, "history", "0001"), Encoding.UTF8.GetBytes(Canary + " edited"));
        await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0001"), Encoding.UTF8.GetBytes(KeptCanary));
        await store.Data.SetAsync(new DataRecordKey(Kept, "history", "0002"), LargeKeptValue());
        await store.Sessions.StoreAsync(new DeviceId("peer-1"), new byte[] { 7 });
        await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 8 });
    }

    private static string RecordPath(EncryptedFileStore store, DataRecordKey key)
    {
        ScopeKeys scope = CachedScope(store, key.Scope);
        return Path.Combine(store.DataFiles.ScopeDirectory(scope.Token), ScopeRecordFormat.FileName(ScopeRecordFormat.RecordToken(scope, key.Collection, key.Name), ".rec"));
    }

    private static string IndexPath(EncryptedFileStore store, string scopeName, string collection)
    {
        ScopeKeys scope = CachedScope(store, scopeName);
        return Path.Combine(store.DataFiles.ScopeDirectory(scope.Token), ScopeRecordFormat.FileName(ScopeRecordFormat.IndexToken(scope, collection), ".idx"));
    }

    private static ScopeKeys CachedScope(EncryptedFileStore store, string scope)
    {
        using KeyLease lease = store.Folder.Keyring.Acquire();
        Assert.True(lease.Keys.TryGetScope(scope, out ScopeKeys? keys), "the scope was written, so its keys are cached");
        return keys;
    }

    private static string ScopeFolder(EncryptedFileStore store, string scope)
    {
        using KeyLease lease = store.Folder.Keyring.Acquire();
        RecordAddress address = RecordAddress.ForScopeKey(scope);
        return store.DataFiles.ScopeDirectory(RecordFolder.Token(lease.Keys, address.Category, address.Name));
    }

    /// <summary>
    /// Reads every file in the store folder and decrypts each with every key the store still holds: the store's record
    /// key for top-level records, and for scope files the keys of every scope whose key record is still there.
    /// </summary>
    private FolderContents DecryptEverything(EncryptedFileStore store)
    {
        var contents = new FolderContents();
        using KeyLease lease = store.Folder.Keyring.Acquire();
        var scopes = new List<ScopeKeys>();
        foreach (string path in Directory.EnumerateFiles(_folder.Path, "*", SearchOption.AllDirectories))
        {
            contents.Names.Add(Path.GetRelativePath(_folder.Path, path));
            contents.RawFiles.Add(File.ReadAllBytes(path));
        }

        foreach (string path in Directory.EnumerateFiles(_folder.Path))
        {
            if (Path.GetFileName(path) == "store.header")
            {
                continue;
            }

            try
            {
                byte[] plaintext = RecordFolder.DecryptFile(lease.Keys, path);
                contents.Plaintexts.Add(plaintext);
                if (plaintext[0] == RecordAddress.ScopeKeyCategory)
                {
                    byte[] name = plaintext[2..(2 + plaintext[1])];
                    byte[] scopeKey = plaintext[(2 + plaintext[1])..];
                    scopes.Add(ScopeKeys.Derive(lease.Keys.StoreId, RecordFolder.Token(lease.Keys, RecordAddress.ScopeKeyCategory, name), scopeKey));
                    contents.ScopeNames.Add(Encoding.ASCII.GetString(name));
                }
            }
            catch (Exception exception) when (exception is CryptographicFailureException or ArgumentException)
            {
                contents.Undecryptable.Add(path);
            }
        }

        foreach (string path in Directory.EnumerateDirectories(_folder.Path).SelectMany(Directory.EnumerateFiles))
        {
            byte[] token = Convert.FromHexString(Path.GetFileNameWithoutExtension(path));
            byte[] file = File.ReadAllBytes(path);
            byte[]? plaintext = null;
            foreach (ScopeKeys scope in scopes)
            {
                try
                {
                    plaintext = ScopeRecordFormat.Open(lease.Keys.StoreId, scope, token, file);
                    break;
                }
                catch (CryptographicFailureException)
                {
                }
            }

            if (plaintext is null)
            {
                contents.Undecryptable.Add(path);
            }
            else
            {
                contents.Plaintexts.Add(plaintext);
            }
        }

        return contents;
    }

    private sealed class FolderContents
    {
        public List<string> Names { get; } = [];

        public List<byte[]> RawFiles { get; } = [];

        public List<byte[]> Plaintexts { get; } = [];

        public List<string> Undecryptable { get; } = [];

        public List<string> ScopeNames { get; } = [];
    }
}
