using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

public sealed class EncryptedFileStoreLockTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);
    private static readonly DeviceId Peer = new("clinician-device-1");
    private static readonly DataRecordKey Record = new("c/conv-1", "history", "0001");
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new();

    public static TheoryData<string> Calls => new(CallsByName.Keys);

    private static Dictionary<string, Func<EncryptedFileStore, Task>> CallsByName => new()
    {
        ["Keys.Get"] = store => store.Keys.GetAsync(KeyRecordName.Identity).AsTask(),
        ["Keys.Set"] = store => store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 9 }).AsTask(),
        ["Keys.Delete"] = store => store.Keys.DeleteAsync(KeyRecordName.Identity).AsTask(),
        ["Keys.List"] = store => store.Keys.ListAsync(KeyRecordKind.Identity),
        ["Sessions.Load"] = store => store.Sessions.LoadAsync(Peer).AsTask(),
        ["Sessions.Store"] = store => store.Sessions.StoreAsync(Peer, new byte[] { 9 }).AsTask(),
        ["Sessions.Delete"] = store => store.Sessions.DeleteAsync(Peer).AsTask(),
        ["Sessions.List"] = store => store.Sessions.ListAsync(),
        ["Data.Set"] = store => store.Data.SetAsync(Record, new byte[] { 9 }),
        ["Data.Set new scope"] = store => store.Data.SetAsync(new DataRecordKey("c/new", "history", "0001"), new byte[] { 9 }),
        ["Data.Get"] = store => store.Data.GetAsync(Record),
        ["Data.Delete"] = store => store.Data.DeleteAsync(Record),
        ["Data.List"] = store => store.Data.ListAsync(Record.Scope, Record.Collection),
        ["Data.ListScopes"] = store => store.Data.ListScopesAsync(),
        ["Data.EraseScope"] = store => store.Data.EraseScopeAsync(Record.Scope),
    };

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_idle_timeout_zeroes_the_keys_even_when_nobody_calls()
    {
        using EncryptedFileStore store = await OpenAsync();
        await store.Data.SetAsync(Record, new byte[] { 1 });
        StoreKeys keys = CurrentKeys(store);
        Assert.True(keys.TryGetScope(Record.Scope, out ScopeKeys? scope));

        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.False(keys.IsZeroed);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(keys.IsZeroed);
        Assert.All([keys.RecordKey, keys.NameKey, scope.RecordKey, scope.NameKey], key => Assert.All(key, b => Assert.Equal(0, b)));
        Assert.True(store.IsLocked);
    }

    [Fact]
    public async Task Each_call_restarts_the_idle_clock()
    {
        using EncryptedFileStore store = await OpenAsync();

        _time.Advance(TimeSpan.FromMinutes(10));
        await store.Data.GetAsync(Record);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(store.IsLocked);
        await store.Sessions.LoadAsync(Peer);
        _time.Advance(TimeSpan.FromMinutes(14));
        Assert.False(store.IsLocked);

        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.True(store.IsLocked);
    }

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Every_call_on_a_locked_store_is_refused_and_changes_nothing(string call)
    {
        using EncryptedFileStore store = await OpenAsync();
        await store.Keys.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        await store.Sessions.StoreAsync(Peer, new byte[] { 2 });
        await store.Data.SetAsync(Record, new byte[] { 3 });
        store.Lock();
        var before = _folder.Snapshot();

        var failure = await Assert.ThrowsAsync<TelehealthException>(() => CallsByName[call](store));

        Assert.Equal(TelehealthErrorCode.StoreLocked, failure.ErrorCode);
        Assert.False(failure.IsTransient);
        Assert.Equal(before, _folder.Snapshot());
    }

    [Fact]
    public async Task A_store_locked_by_the_timeout_refuses_calls_like_an_explicit_lock()
    {
        using EncryptedFileStore store = await OpenAsync();
        await store.Data.SetAsync(Record, new byte[] { 1 });

        _time.Advance(IdleTimeout);

        var failure = await Assert.ThrowsAsync<TelehealthException>(() => store.Data.GetAsync(Record));
        Assert.Equal(TelehealthErrorCode.StoreLocked, failure.ErrorCode);
    }

    [Fact]
    public async Task A_call_after_the_timeout_is_refused_even_when_the_timer_never_ran()
    {
        // A suspended mobile app runs no timers; the first call after it resumes must still find the store locked.
        var time = new TimersNeverFireTimeProvider();
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder, new EncryptedFileStoreOptions { IdleLockTimeout = IdleTimeout, TimeProvider = time });
        StoreKeys keys = CurrentKeys(store);

        time.Advance(IdleTimeout);
        Assert.False(keys.IsZeroed);

        var failure = await Assert.ThrowsAsync<TelehealthException>(() => store.Data.GetAsync(Record));

        Assert.Equal(TelehealthErrorCode.StoreLocked, failure.ErrorCode);
        Assert.True(keys.IsZeroed);
    }

    [Fact]
    public async Task Unlock_with_the_right_passphrase_restores_access_and_restarts_the_idle_clock()
    {
        using EncryptedFileStore store = await OpenAsync();
        await store.Data.SetAsync(Record, new byte[] { 1 });
        await store.Sessions.StoreAsync(Peer, new byte[] { 2 });
        _time.Advance(IdleTimeout);
        Assert.True(store.IsLocked);

        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        await store.UnlockAsync(protector);

        Assert.False(store.IsLocked);
        Assert.Equal(new byte[] { 1 }, await store.Data.GetAsync(Record));
        Assert.Equal(new byte[] { 2 }, await store.Sessions.LoadAsync(Peer));
        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.False(store.IsLocked);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(store.IsLocked);
    }

    [Fact]
    public async Task Unlock_with_a_wrong_passphrase_is_refused_and_the_store_stays_locked()
    {
        using EncryptedFileStore store = await OpenAsync();
        await store.Data.SetAsync(Record, new byte[] { 1 });
        store.Lock();
        var before = _folder.Snapshot();

        using PassphraseKeyProtector wrong = StoreFixtures.Protector("wrong passphrase");
        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => store.UnlockAsync(wrong));

        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        Assert.True(store.IsLocked);
        Assert.Equal(TelehealthErrorCode.StoreLocked, (await Assert.ThrowsAsync<TelehealthException>(() => store.Data.GetAsync(Record))).ErrorCode);
        Assert.Equal(before, _folder.Snapshot());
        using PassphraseKeyProtector right = StoreFixtures.Protector();
        await store.UnlockAsync(right);
        Assert.Equal(new byte[] { 1 }, await store.Data.GetAsync(Record));
    }

    [Fact]
    public async Task Unlock_with_another_stores_header_and_passphrase_is_refused()
    {
        using var otherFolder = new TempFolder();
        using (await StoreFixtures.OpenAsync(otherFolder))
        {
        }

        using EncryptedFileStore store = await OpenAsync();
        store.Lock();
        string header = Path.Combine(_folder.Path, "store.header");
        byte[] ownHeader = File.ReadAllBytes(header);
        File.Copy(Path.Combine(otherFolder.Path, "store.header"), header, overwrite: true);
        using PassphraseKeyProtector protector = StoreFixtures.Protector();

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => store.UnlockAsync(protector));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
        Assert.True(store.IsLocked);
        File.WriteAllBytes(header, ownHeader);
        await store.UnlockAsync(protector);
        Assert.False(store.IsLocked);
    }

    [Fact]
    public async Task A_call_running_when_the_store_locks_finishes_with_whole_keys_which_are_zeroed_after_it()
    {
        using EncryptedFileStore store = await OpenAsync();
        StoreKeys keys = CurrentKeys(store);
        var wholeDuringWrite = new List<bool>();
        store.Folder.AfterPartialWriteForTesting = _ =>
        {
            store.Lock();
            wholeDuringWrite.Add(!keys.IsZeroed && keys.RecordKey.Any(b => b != 0));
        };

        await store.Data.SetAsync(Record, "written while locking"u8.ToArray());

        store.Folder.AfterPartialWriteForTesting = null;
        Assert.NotEmpty(wholeDuringWrite);
        Assert.All(wholeDuringWrite, Assert.True);
        Assert.True(keys.IsZeroed);
        Assert.True(store.IsLocked);
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        await store.UnlockAsync(protector);
        Assert.Equal("written while locking"u8.ToArray(), await store.Data.GetAsync(Record));
        Assert.Equal([Record.Name], await store.Data.ListAsync(Record.Scope, Record.Collection));
    }

    [Fact]
    public async Task Lock_is_idempotent_and_unlocking_an_unlocked_store_keeps_it_usable()
    {
        using EncryptedFileStore store = await OpenAsync();
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        await store.Data.SetAsync(Record, new byte[] { 1 });

        await store.UnlockAsync(protector);
        Assert.Equal(new byte[] { 1 }, await store.Data.GetAsync(Record));
        store.Lock();
        store.Lock();
        Assert.True(store.IsLocked);
        await store.UnlockAsync(protector);
        Assert.Equal(new byte[] { 1 }, await store.Data.GetAsync(Record));
    }

    [Fact]
    public async Task A_disposed_store_reports_locked_ignores_Lock_and_refuses_unlock()
    {
        EncryptedFileStore store = await OpenAsync();
        store.Dispose();
        using PassphraseKeyProtector protector = StoreFixtures.Protector();

        store.Lock();

        Assert.True(store.IsLocked);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.UnlockAsync(protector));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Data.GetAsync(Record));
    }

    [Fact]
    public async Task Without_an_idle_timeout_the_store_never_locks_by_itself()
    {
        using EncryptedFileStore store = await StoreFixtures.OpenAsync(_folder, new EncryptedFileStoreOptions { TimeProvider = _time });

        _time.Advance(TimeSpan.FromDays(30));

        Assert.False(store.IsLocked);
        Assert.Null(await store.Data.GetAsync(Record));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(86_401)]
    public async Task An_out_of_range_idle_timeout_is_refused_before_anything_is_created(int seconds)
    {
        var options = new EncryptedFileStoreOptions { IdleLockTimeout = TimeSpan.FromSeconds(seconds), TimeProvider = _time };

        var failure = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => StoreFixtures.OpenAsync(_folder, options));

        Assert.Equal("IdleLockTimeout", failure.ParamName);
        Assert.False(Directory.Exists(_folder.Path));
    }

    [Fact]
    public async Task A_missing_time_provider_is_refused()
    {
        var options = new EncryptedFileStoreOptions { IdleLockTimeout = IdleTimeout, TimeProvider = null! };

        await Assert.ThrowsAsync<ArgumentNullException>(() => StoreFixtures.OpenAsync(_folder, options));
        Assert.False(Directory.Exists(_folder.Path));
    }

    [Fact]
    public void Options_print_the_timeout_only()
    {
        Assert.Equal("EncryptedFileStoreOptions(IdleLockTimeout=00:15:00)", new EncryptedFileStoreOptions { IdleLockTimeout = IdleTimeout }.ToString());
        Assert.Equal("EncryptedFileStoreOptions(IdleLockTimeout=none)", new EncryptedFileStoreOptions().ToString());
    }

    private static StoreKeys CurrentKeys(EncryptedFileStore store)
    {
        using KeyLease lease = store.Folder.Keyring.Acquire();
        return lease.Keys;
    }

    private Task<EncryptedFileStore> OpenAsync() =>
        StoreFixtures.OpenAsync(_folder, new EncryptedFileStoreOptions { IdleLockTimeout = IdleTimeout, TimeProvider = _time });

    /// <summary>A clock whose timers never fire, like a suspended app's.</summary>
    private sealed class TimersNeverFireTimeProvider : FakeTimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new InertTimer();

        private sealed class InertTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
