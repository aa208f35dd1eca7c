using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

/// <summary>The <see cref="IKeyStore"/> contract, run against every implementation.</summary>
public abstract class KeyStoreContractTests : IAsyncLifetime
{
    protected IKeyStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await CreateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Get_returns_null_for_a_record_never_set()
    {
        Assert.Null(await Store.GetAsync(KeyRecordName.Identity));
        Assert.Null(await Store.GetAsync(KeyRecordName.OneTimePreKey(7)));
    }

    [Fact]
    public async Task Set_then_get_returns_the_value_and_set_again_replaces_it()
    {
        await Store.SetAsync(KeyRecordName.Identity, new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, await Store.GetAsync(KeyRecordName.Identity));

        await Store.SetAsync(KeyRecordName.Identity, new byte[] { 9 });
        Assert.Equal(new byte[] { 9 }, await Store.GetAsync(KeyRecordName.Identity));
    }

    [Fact]
    public async Task Records_of_different_kinds_with_the_same_id_are_distinct()
    {
        await Store.SetAsync(KeyRecordName.SignedPreKey(5), "signed"u8.ToArray());
        await Store.SetAsync(KeyRecordName.OneTimePreKey(5), "one-time"u8.ToArray());
        await Store.SetAsync(KeyRecordName.KemPreKey(5), "kem"u8.ToArray());

        Assert.Equal("signed"u8.ToArray(), await Store.GetAsync(KeyRecordName.SignedPreKey(5)));
        Assert.Equal("one-time"u8.ToArray(), await Store.GetAsync(KeyRecordName.OneTimePreKey(5)));
        Assert.Equal("kem"u8.ToArray(), await Store.GetAsync(KeyRecordName.KemPreKey(5)));
    }

    [Fact]
    public async Task An_empty_value_is_stored_and_read_back_as_empty()
    {
        await Store.SetAsync(KeyRecordName.KemPreKey(1), ReadOnlyMemory<byte>.Empty);

        byte[]? value = await Store.GetAsync(KeyRecordName.KemPreKey(1));

        Assert.NotNull(value);
        Assert.Empty(value);
    }

    [Fact]
    public async Task Values_are_copied_in_and_out()
    {
        byte[] written = [1, 2, 3];
        await Store.SetAsync(KeyRecordName.SignedPreKey(1), written);
        written[0] = 99;

        byte[] first = (await Store.GetAsync(KeyRecordName.SignedPreKey(1)))!;
        first[1] = 99;

        Assert.Equal(new byte[] { 1, 2, 3 }, await Store.GetAsync(KeyRecordName.SignedPreKey(1)));
    }

    [Fact]
    public async Task Delete_removes_a_record_and_reports_whether_it_existed()
    {
        await Store.SetAsync(KeyRecordName.OneTimePreKey(3), new byte[] { 3 });

        Assert.True(await Store.DeleteAsync(KeyRecordName.OneTimePreKey(3)));
        Assert.False(await Store.DeleteAsync(KeyRecordName.OneTimePreKey(3)));
        Assert.Null(await Store.GetAsync(KeyRecordName.OneTimePreKey(3)));
    }

    [Fact]
    public async Task List_returns_the_records_of_one_kind_ordered_by_id()
    {
        foreach (uint id in new uint[] { 30, 2, uint.MaxValue, 0 })
        {
            await Store.SetAsync(KeyRecordName.OneTimePreKey(id), new byte[] { 1 });
        }

        await Store.SetAsync(KeyRecordName.SignedPreKey(2), new byte[] { 1 });
        await Store.SetAsync(KeyRecordName.Identity, new byte[] { 1 });
        await Store.DeleteAsync(KeyRecordName.OneTimePreKey(30));

        Assert.Equal(
            [KeyRecordName.OneTimePreKey(0), KeyRecordName.OneTimePreKey(2), KeyRecordName.OneTimePreKey(uint.MaxValue)],
            await Store.ListAsync(KeyRecordKind.OneTimePreKey));
        Assert.Equal([KeyRecordName.SignedPreKey(2)], await Store.ListAsync(KeyRecordKind.SignedPreKey));
        Assert.Equal([KeyRecordName.Identity], await Store.ListAsync(KeyRecordKind.Identity));
        Assert.Empty(await Store.ListAsync(KeyRecordKind.KemPreKey));
    }

    [Fact]
    public async Task A_default_record_name_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(default, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.GetAsync(default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.DeleteAsync(default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListAsync((KeyRecordKind)0));
    }

    [Fact]
    public async Task A_value_over_16_MiB_is_refused_and_the_old_value_kept()
    {
        await Store.SetAsync(KeyRecordName.Identity, new byte[] { 1 });

        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(KeyRecordName.Identity, new byte[(16 * 1024 * 1024) + 1]));

        Assert.Equal(new byte[] { 1 }, await Store.GetAsync(KeyRecordName.Identity));
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_see_only_whole_values()
    {
        // Each writer writes a value filled with its own byte, long enough that a torn write would mix bytes.
        const int Writers = 8;
        const int Rounds = 10;
        KeyRecordName shared = KeyRecordName.SignedPreKey(1);
        var writes = Enumerable.Range(1, Writers).Select(writer => Task.Run(async () =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                await Store.SetAsync(shared, Filled((byte)writer, 4096));
                await Store.SetAsync(KeyRecordName.OneTimePreKey((uint)writer), Filled((byte)writer, 100 + round));
            }
        }));
        var reads = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (int round = 0; round < Rounds * 2; round++)
            {
                byte[]? value = await Store.GetAsync(shared);
                if (value is not null)
                {
                    AssertWhole(value, 4096);
                }
            }
        }));

        await Task.WhenAll(writes.Concat(reads));

        byte[] final = (await Store.GetAsync(shared))!;
        AssertWhole(final, 4096);
        Assert.InRange(final[0], (byte)1, (byte)Writers);
        for (int writer = 1; writer <= Writers; writer++)
        {
            Assert.Equal(Filled((byte)writer, 100 + Rounds - 1), await Store.GetAsync(KeyRecordName.OneTimePreKey((uint)writer)));
        }
    }

    [Fact]
    public void Record_names_print_kind_and_id()
    {
        Assert.Equal("SignedPreKey/7", KeyRecordName.SignedPreKey(7).ToString());
        Assert.Equal("Identity/0", KeyRecordName.Identity.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyRecordName(KeyRecordKind.Identity, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyRecordName((KeyRecordKind)9, 1));
    }

    protected abstract Task<IKeyStore> CreateAsync();

    internal static byte[] Filled(byte value, int length) => Enumerable.Repeat(value, length).ToArray();

    internal static void AssertWhole(byte[] value, int length)
    {
        Assert.Equal(length, value.Length);
        Assert.All(value, b => Assert.Equal(value[0], b));
    }
}

public sealed class InMemoryKeyStoreTests : KeyStoreContractTests
{
    protected override Task<IKeyStore> CreateAsync() => Task.FromResult<IKeyStore>(new InMemoryKeyStore());
}

public sealed class EncryptedFileKeyStoreTests : KeyStoreContractTests, IDisposable
{
    private readonly TempFolder _folder = new();
    private EncryptedFileStore? _store;

    public void Dispose()
    {
        _store?.Dispose();
        _folder.Dispose();
    }

    protected override async Task<IKeyStore> CreateAsync()
    {
        _store = await StoreFixtures.OpenAsync(_folder);
        return _store.Keys;
    }
}
