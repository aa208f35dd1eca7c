using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

public sealed class EncryptedFileStoreTests : IDisposable
{
    private static readonly DeviceId Peer = new("clinician-device-1");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Keys_and_sessions_survive_a_restart()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1, 1 });
            await store.Keys.SetAsync(KeyRecordName.OneTimePreKey(42), new byte[] { 4, 2 });
            await store.Sessions.StoreAsync(Peer, new byte[] { 7, 7, 7 });
        }

        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);

        Assert.Equal(new byte[] { 1, 1 }, await reopened.Keys.GetAsync(KeyRecordName.Identity));
        Assert.Equal(new byte[] { 4, 2 }, await reopened.Keys.GetAsync(KeyRecordName.OneTimePreKey(42)));
        Assert.Equal([KeyRecordName.OneTimePreKey(42)], await reopened.Keys.ListAsync(KeyRecordKind.OneTimePreKey));
        Assert.Equal(new byte[] { 7, 7, 7 }, await reopened.Sessions.LoadAsync(Peer));
        Assert.Equal([Peer], await reopened.Sessions.ListAsync());
    }

    [Fact]
    public async Task A_wrong_passphrase_is_a_typed_error_and_changes_nothing()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        }

        // Even a leftover temporary file stays until an open with the right key.
        File.WriteAllBytes(Path.Combine(_folder.Path, "leftover.rec.0123.tmp"), new byte[] { 1, 2, 3 });
        var before = _folder.Snapshot();

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => StoreFixtures.OpenAsync(_folder, "wrong passphrase"));

        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
        Assert.Equal(before, _folder.Snapshot());
        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);
        Assert.Equal(new byte[] { 1 }, await reopened.Sessions.LoadAsync(Peer));
    }

    [Fact]
    public async Task A_store_header_is_never_replaced_by_a_racing_create()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        byte[] header = File.ReadAllBytes(Path.Combine(_folder.Path, "store.header"));
        using PassphraseKeyProtector protector = StoreFixtures.Protector();

        await Assert.ThrowsAsync<IOException>(() => StoreHeader.CreateAsync(_folder.Path, protector, CancellationToken.None));

        Assert.Equal(header, File.ReadAllBytes(Path.Combine(_folder.Path, "store.header")));
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp"));
    }

    [Fact]
    public async Task A_protector_that_returns_a_wrong_key_is_caught_by_the_header_check()
    {
        var protector = new ClearTextProtector();
        using (EncryptedFileStore store = await EncryptedFileStore.OpenAsync(_folder.Path, protector))
        {
            await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        }

        protector.ReturnWrongKey = true;
        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => EncryptedFileStore.OpenAsync(_folder.Path, protector));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
    }

    [Fact]
    public async Task File_names_reveal_no_peer_or_key_ids()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        await store.Keys.SetAsync(KeyRecordName.OneTimePreKey(1234567), new byte[] { 1 });

        string[] names = Directory.GetFiles(_folder.Path).Select(Path.GetFileName).ToArray()!;

        Assert.Equal(3, names.Length);
        Assert.Contains("store.header", names);
        Assert.All(names.Where(name => name != "store.header"), name => Assert.Matches("^[0-9A-F]{64}\\.rec$", name));
        Assert.DoesNotContain(names, name => name.Contains("clinician", StringComparison.OrdinalIgnoreCase) || name.Contains("1234567", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_canary_from_values_peer_ids_or_passphrase_appears_in_any_file()
    {
        const string Passphrase = "CANARY-passphrase-5150";
        var peer = new DeviceId("CANARY-peer-device");
        string[] canaries = ["CANARY-identity-key", "CANARY-session-state", "CANARY-peer-device", Passphrase, "CANARY-prekey"];

        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder, Passphrase))
        {
            await store.Keys.SetAsync(KeyRecordName.Identity, Encoding.UTF8.GetBytes("CANARY-identity-key"));
            await store.Keys.SetAsync(KeyRecordName.SignedPreKey(1), Encoding.UTF8.GetBytes("CANARY-prekey CANARY-prekey"));
            await store.Sessions.StoreAsync(peer, Encoding.UTF8.GetBytes("CANARY-session-state"));
            await store.Sessions.StoreAsync(peer, Encoding.UTF8.GetBytes("CANARY-session-state, updated"));
        }

        var files = _folder.Snapshot();
        Assert.Equal(4, files.Count);
        foreach ((string name, byte[] bytes) in files)
        {
            foreach (string canary in canaries)
            {
                Assert.DoesNotContain(canary, name, StringComparison.OrdinalIgnoreCase);
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(canary)));
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(canary)));
            }
        }
    }

    [Fact]
    public async Task A_record_file_copied_over_another_records_name_fails_to_open()
    {
        var other = new DeviceId("other-device");
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        await store.Sessions.StoreAsync(other, new byte[] { 2 });
        string peerFile = Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForSession(Peer)));
        string otherFile = Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForSession(other)));

        File.Copy(peerFile, otherFile, overwrite: true);

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(async () => await store.Sessions.LoadAsync(other));
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
        await Assert.ThrowsAsync<CryptographicFailureException>(() => store.Sessions.ListAsync());
        Assert.Equal(new byte[] { 1 }, await store.Sessions.LoadAsync(Peer));
    }

    [Fact]
    public async Task A_record_file_from_another_store_with_the_same_passphrase_fails_to_open()
    {
        using var otherFolder = new TempFolder();
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        using EncryptedFileStore otherStore = await StoreFixtures.OpenAsync(otherFolder);
        await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        await otherStore.Sessions.StoreAsync(Peer, new byte[] { 2 });

        // Same passphrase, different store: different store id and store key, so the file names differ as well.
        string source = Path.Combine(otherFolder.Path, otherStore.Folder.FileNameOf(RecordAddress.ForSession(Peer)));
        File.Copy(source, Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForSession(Peer))), overwrite: true);

        await Assert.ThrowsAsync<CryptographicFailureException>(async () => await store.Sessions.LoadAsync(Peer));
    }

    [Fact]
    public async Task A_flipped_bit_anywhere_in_a_record_file_is_a_typed_error()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Keys.SetAsync(KeyRecordName.Identity, RandomNumberGenerator.GetBytes(20));
        string path = Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForKey(KeyRecordName.Identity)));
        byte[] original = File.ReadAllBytes(path);

        for (int position = 0; position < original.Length; position++)
        {
            byte[] altered = (byte[])original.Clone();
            altered[position] ^= 0x80;
            File.WriteAllBytes(path, altered);

            var failure = await Assert.ThrowsAsync<CryptographicFailureException>(async () => await store.Keys.GetAsync(KeyRecordName.Identity));
            Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(30)]
    public async Task A_truncated_record_file_is_a_typed_error(int keptBytes)
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, RandomNumberGenerator.GetBytes(40));
        string path = Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForSession(Peer)));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..keptBytes]);

        await Assert.ThrowsAsync<CryptographicFailureException>(async () => await store.Sessions.LoadAsync(Peer));
    }

    [Fact]
    public async Task An_altered_store_header_is_refused_at_open()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        }

        string header = Path.Combine(_folder.Path, "store.header");
        byte[] original = File.ReadAllBytes(header);
        for (int position = 0; position < original.Length; position++)
        {
            byte[] altered = (byte[])original.Clone();
            altered[position] ^= 0x01;
            File.WriteAllBytes(header, altered);

            await Assert.ThrowsAsync<CryptographicFailureException>(() => StoreFixtures.OpenAsync(_folder));
        }
    }

    [Fact]
    public async Task A_folder_with_records_but_no_header_is_refused_and_left_alone()
    {
        using (EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder))
        {
            await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        }

        File.Delete(Path.Combine(_folder.Path, "store.header"));
        var before = _folder.Snapshot();

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => StoreFixtures.OpenAsync(_folder));

        Assert.Contains("no store header", failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, _folder.Snapshot());
    }

    [Fact]
    public async Task A_write_that_dies_midway_leaves_the_previous_record_intact()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, Encoding.UTF8.GetBytes("previous state"));
        string? partial = null;
        store.Folder.AfterPartialWriteForTesting = path =>
        {
            partial = path;
            Assert.True(new FileInfo(path).Length > 0, "half the new record should be on disk");
            throw new IOException("simulated failure in the middle of a write");
        };

        await Assert.ThrowsAsync<IOException>(async () => await store.Sessions.StoreAsync(Peer, Encoding.UTF8.GetBytes("new state that never lands")));

        store.Folder.AfterPartialWriteForTesting = null;
        Assert.NotNull(partial);
        Assert.False(File.Exists(partial));
        Assert.Equal(Encoding.UTF8.GetBytes("previous state"), await store.Sessions.LoadAsync(Peer));
        using var reopened = await ReopenAfterDisposing(store);
        Assert.Equal(Encoding.UTF8.GetBytes("previous state"), await reopened.Sessions.LoadAsync(Peer));
    }

    [Fact]
    public async Task A_crash_mid_write_leaves_a_temporary_file_that_the_next_open_ignores_and_deletes()
    {
        EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, Encoding.UTF8.GetBytes("previous state"));
        await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        string? leftover = null;
        store.Folder.AfterPartialWriteForTesting = path =>
        {
            // A killed process runs no cleanup: keep a copy of the half-written file where the crash would leave it.
            leftover = path + ".crashed.tmp";
            File.Copy(path, leftover);
            throw new IOException("simulated process death");
        };
        await Assert.ThrowsAsync<IOException>(async () => await store.Sessions.StoreAsync(Peer, RandomNumberGenerator.GetBytes(500)));
        store.Dispose();
        Assert.True(File.Exists(leftover));

        using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(_folder);

        Assert.False(File.Exists(leftover));
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp"));
        Assert.Equal(Encoding.UTF8.GetBytes("previous state"), await reopened.Sessions.LoadAsync(Peer));
        Assert.Equal([Peer], await reopened.Sessions.ListAsync());
        Assert.Equal(new byte[] { 1 }, await reopened.Keys.GetAsync(KeyRecordName.Identity));
    }

    [Fact]
    public async Task A_write_cancelled_midway_leaves_the_previous_record_and_no_temporary_file()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        using var cancellation = new CancellationTokenSource();
        store.Folder.AfterPartialWriteForTesting = _ => cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.Sessions.StoreAsync(Peer, new byte[200], cancellation.Token));

        Assert.Equal(new byte[] { 1 }, await store.Sessions.LoadAsync(Peer));
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp"));
    }

    [Fact]
    public async Task Files_follow_the_documented_layout()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, new byte[100]);

        byte[] header = File.ReadAllBytes(Path.Combine(_folder.Path, "store.header"));
        Assert.Equal("THST"u8.ToArray(), header[..4]);
        Assert.Equal(1, header[4]);
        int wrappedLength = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(21));
        Assert.Equal(1 + 12 + 16 + 12 + 32 + 16, wrappedLength);
        Assert.Equal(25 + wrappedLength + 32, header.Length);

        byte[] record = File.ReadAllBytes(Path.Combine(_folder.Path, store.Folder.FileNameOf(RecordAddress.ForSession(Peer))));
        Assert.Equal("THRC"u8.ToArray(), record[..4]);
        Assert.Equal(1, record[4]);
        Assert.Equal(4 + 1 + 12 + 1 + 1 + Peer.Value.Length + 100 + 16, record.Length);
    }

    [Fact]
    public async Task Sessions_survive_a_crash_at_any_write_of_a_sequence()
    {
        // The acceptance criterion: whatever write the process dies in, reopening yields the last completed state.
        for (int crashAt = 0; crashAt < 5; crashAt++)
        {
            using var folder = new TempFolder();
            EncryptedFileStore store = await StoreFixtures.OpenAsync(folder);
            byte[]? lastCompleted = null;
            for (int step = 0; step < 5; step++)
            {
                byte[] state = Encoding.UTF8.GetBytes($"ratchet state {step} " + new string('x', step * 50));
                if (step == crashAt)
                {
                    store.Folder.AfterPartialWriteForTesting = _ => throw new IOException("simulated crash");
                    await Assert.ThrowsAsync<IOException>(async () => await store.Sessions.StoreAsync(Peer, state));
                    break;
                }

                await store.Sessions.StoreAsync(Peer, state);
                lastCompleted = state;
            }

            store.Dispose();
            using EncryptedFileStore reopened = await StoreFixtures.OpenAsync(folder);
            Assert.Equal(lastCompleted, await reopened.Sessions.LoadAsync(Peer));
        }
    }

    [Fact]
    public async Task Foreign_files_in_the_folder_are_ignored_by_list()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        await store.Sessions.StoreAsync(Peer, new byte[] { 1 });
        File.WriteAllText(Path.Combine(_folder.Path, "notes.rec"), "not a record");
        File.WriteAllText(Path.Combine(_folder.Path, "README.txt"), "hello");

        Assert.Equal([Peer], await store.Sessions.ListAsync());
    }

    [Fact]
    public async Task A_disposed_store_refuses_calls()
    {
        EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        store.Dispose();
        store.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.Keys.GetAsync(KeyRecordName.Identity));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.Sessions.StoreAsync(Peer, new byte[] { 1 }));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Sessions.ListAsync());
    }

    [Fact]
    public async Task ToString_reveals_no_path_passphrase_or_keys()
    {
        using PassphraseKeyProtector protector = StoreFixtures.Protector("CANARY-passphrase");
        using EncryptedFileStore store = await EncryptedFileStore.OpenAsync(_folder.Path, protector);

        foreach (object value in new object[] { store, store.Keys, store.Sessions, protector })
        {
            string text = value.ToString()!;
            Assert.DoesNotContain("CANARY", text, StringComparison.Ordinal);
            Assert.DoesNotContain(_folder.Path, text, StringComparison.Ordinal);
        }

        Assert.Equal("PassphraseKeyProtector(Argon2id m=64 KiB, t=1, p=1)", protector.ToString());
    }

    [Fact]
    public async Task Parallel_writers_to_one_session_leave_one_of_the_written_states()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder);
        byte[][] states = Enumerable.Range(1, 16).Select(i => KeyStoreContractTests.Filled((byte)i, 10_000)).ToArray();

        await Parallel.ForEachAsync(states, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (state, token) =>
        {
            await store.Sessions.StoreAsync(Peer, state, token);
            KeyStoreContractTests.AssertWhole((await store.Sessions.LoadAsync(Peer, token))!, 10_000);
        });

        using var reopened = await ReopenAfterDisposing(store);
        byte[] final = (await reopened.Sessions.LoadAsync(Peer))!;
        Assert.Contains(states, state => state.AsSpan().SequenceEqual(final));
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp"));
    }

    private async Task<EncryptedFileStore> ReopenAfterDisposing(EncryptedFileStore store)
    {
        store.Dispose();
        return await StoreFixtures.OpenAsync(_folder);
    }

    /// <summary>A protector that keeps the key in the clear, standing in for a platform keystore.</summary>
    private sealed class ClearTextProtector : IKeyProtector
    {
        public bool ReturnWrongKey { get; set; }

        public ValueTask<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(key.ToArray());

        public ValueTask<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrappedKey, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(ReturnWrongKey ? new byte[32] : wrappedKey.ToArray());
    }
}
