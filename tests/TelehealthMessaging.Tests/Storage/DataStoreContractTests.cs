using System.Text;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

/// <summary>The <see cref="IDataStore"/> contract, run against every implementation.</summary>
public abstract class DataStoreContractTests : IAsyncLifetime
{
    private const string Conversation = "c/conv-0001";
    private const string OtherConversation = "c/conv-0002";

    protected IDataStore Store { get; private set; } = null!;

    public static TheoryData<string> InvalidParts => new()
    {
        string.Empty,
        new string('a', 129),
        "has space",
        "back\\slash",
        "umlaut-ä",
        "new\nline",
        "star*",
    };

    public async Task InitializeAsync() => Store = await CreateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Get_returns_null_for_a_record_never_set()
    {
        Assert.Null(await Store.GetAsync(Key("history", "0001")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(70_000)]
    [InlineData(3 * 1024 * 1024)]
    public async Task Set_then_get_returns_the_same_bytes(int length)
    {
        byte[] value = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

        await Store.SetAsync(Key("history", "0001"), value);

        Assert.Equal(value, await Store.GetAsync(Key("history", "0001")));
    }

    [Fact]
    public async Task Set_replaces_an_earlier_value_without_listing_the_name_twice()
    {
        await Store.SetAsync(Key("outbox", "m1"), "first"u8.ToArray());
        await Store.SetAsync(Key("outbox", "m1"), "second, longer value"u8.ToArray());

        Assert.Equal("second, longer value"u8.ToArray(), await Store.GetAsync(Key("outbox", "m1")));
        Assert.Equal(["m1"], await Store.ListAsync(Conversation, "outbox"));
    }

    [Fact]
    public async Task Values_are_copied_in_and_out()
    {
        byte[] value = [5, 6];
        await Store.SetAsync(Key("cursor", "relay"), value);
        value[0] = 0;
        (await Store.GetAsync(Key("cursor", "relay")))![1] = 0;

        Assert.Equal(new byte[] { 5, 6 }, await Store.GetAsync(Key("cursor", "relay")));
    }

    [Fact]
    public async Task Delete_removes_the_record_and_is_idempotent()
    {
        await Store.SetAsync(Key("outbox", "m1"), new byte[] { 1 });
        await Store.SetAsync(Key("outbox", "m2"), new byte[] { 2 });

        Assert.True(await Store.DeleteAsync(Key("outbox", "m1")));
        Assert.False(await Store.DeleteAsync(Key("outbox", "m1")));
        Assert.False(await Store.DeleteAsync(Key("outbox", "never-written")));
        Assert.False(await Store.DeleteAsync(new DataRecordKey("c/unknown-scope", "outbox", "m1")));

        Assert.Null(await Store.GetAsync(Key("outbox", "m1")));
        Assert.Equal(new byte[] { 2 }, await Store.GetAsync(Key("outbox", "m2")));
        Assert.Equal(["m2"], await Store.ListAsync(Conversation, "outbox"));
    }

    [Fact]
    public async Task List_returns_the_names_of_one_collection_in_ordinal_order()
    {
        string[] names = ["b", "B", "a_1", "a-1", "a.1", "10", "9", "0009", "Z:z", "a/b", "a"];
        foreach (string name in names)
        {
            await Store.SetAsync(Key("history", name), Encoding.ASCII.GetBytes(name));
        }

        await Store.SetAsync(Key("outbox", "not-history"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey(OtherConversation, "history", "other-scope"), new byte[] { 1 });

        Assert.Equal(names.Order(StringComparer.Ordinal), await Store.ListAsync(Conversation, "history"));
        Assert.Equal(["not-history"], await Store.ListAsync(Conversation, "outbox"));
    }

    [Fact]
    public async Task List_of_an_unknown_scope_or_collection_is_empty()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });

        Assert.Empty(await Store.ListAsync(Conversation, "inbox"));
        Assert.Empty(await Store.ListAsync("c/nobody", "history"));
    }

    [Fact]
    public async Task The_same_name_in_other_scopes_and_collections_is_a_different_record()
    {
        await Store.SetAsync(new DataRecordKey(Conversation, "history", "x"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey(Conversation, "outbox", "x"), new byte[] { 2 });
        await Store.SetAsync(new DataRecordKey(OtherConversation, "history", "x"), new byte[] { 3 });
        await Store.SetAsync(new DataRecordKey(IDataStore.DeviceScope, "history", "x"), new byte[] { 4 });

        Assert.Equal(new byte[] { 1 }, await Store.GetAsync(new DataRecordKey(Conversation, "history", "x")));
        Assert.Equal(new byte[] { 2 }, await Store.GetAsync(new DataRecordKey(Conversation, "outbox", "x")));
        Assert.Equal(new byte[] { 3 }, await Store.GetAsync(new DataRecordKey(OtherConversation, "history", "x")));
        Assert.Equal(new byte[] { 4 }, await Store.GetAsync(new DataRecordKey(IDataStore.DeviceScope, "history", "x")));
    }

    [Fact]
    public async Task ListScopes_returns_the_scopes_holding_records_in_ordinal_order()
    {
        Assert.Empty(await Store.ListScopesAsync());
        await Store.SetAsync(new DataRecordKey(OtherConversation, "history", "1"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey(Conversation, "history", "1"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey("C/upper", "history", "1"), new byte[] { 1 });

        Assert.Equal(["C/upper", Conversation, OtherConversation, IDataStore.DeviceScope], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task A_scope_whose_records_were_all_deleted_is_not_listed()
    {
        await Store.SetAsync(Key("outbox", "m1"), new byte[] { 1 });
        await Store.SetAsync(new DataRecordKey(OtherConversation, "outbox", "m1"), new byte[] { 1 });

        await Store.DeleteAsync(Key("outbox", "m1"));

        Assert.Equal([OtherConversation], await Store.ListScopesAsync());
        await Store.SetAsync(Key("outbox", "m2"), new byte[] { 2 });
        Assert.Equal([Conversation, OtherConversation], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task Erase_removes_every_record_of_the_scope_and_nothing_else()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });
        await Store.SetAsync(Key("outbox", "m1"), new byte[] { 2 });
        await Store.SetAsync(new DataRecordKey(OtherConversation, "history", "0001"), new byte[] { 3 });
        await Store.SetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay"), new byte[] { 4 });

        await Store.EraseScopeAsync(Conversation);

        Assert.Null(await Store.GetAsync(Key("history", "0001")));
        Assert.Null(await Store.GetAsync(Key("outbox", "m1")));
        Assert.Empty(await Store.ListAsync(Conversation, "history"));
        Assert.Empty(await Store.ListAsync(Conversation, "outbox"));
        Assert.Equal([OtherConversation, IDataStore.DeviceScope], await Store.ListScopesAsync());
        Assert.Equal(new byte[] { 3 }, await Store.GetAsync(new DataRecordKey(OtherConversation, "history", "0001")));
        Assert.Equal(new byte[] { 4 }, await Store.GetAsync(new DataRecordKey(IDataStore.DeviceScope, "cursor", "relay")));
    }

    [Fact]
    public async Task Erase_is_idempotent_and_a_later_write_starts_the_scope_afresh()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });
        await Store.EraseScopeAsync(Conversation);
        await Store.EraseScopeAsync(Conversation);
        await Store.EraseScopeAsync("c/never-used");

        await Store.SetAsync(Key("history", "0002"), new byte[] { 2 });

        Assert.Null(await Store.GetAsync(Key("history", "0001")));
        Assert.Equal(new byte[] { 2 }, await Store.GetAsync(Key("history", "0002")));
        Assert.Equal(["0002"], await Store.ListAsync(Conversation, "history"));
        Assert.Equal([Conversation], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task A_default_record_key_is_refused()
    {
        DataRecordKey empty = default;

        Assert.Equal("key", (await Assert.ThrowsAsync<ArgumentException>(() => Store.SetAsync(empty, new byte[] { 1 }))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync(empty))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(empty))).ParamName);
        Assert.Empty(await Store.ListScopesAsync());
    }

    [Theory]
    [MemberData(nameof(InvalidParts))]
    public async Task Invalid_scope_and_collection_names_are_refused(string invalid)
    {
        Assert.Equal("scope", (await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAsync(invalid, "history"))).ParamName);
        Assert.Equal("collection", (await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAsync(Conversation, invalid))).ParamName);
        Assert.Equal("scope", (await Assert.ThrowsAsync<ArgumentException>(() => Store.EraseScopeAsync(invalid))).ParamName);
    }

    [Theory]
    [MemberData(nameof(InvalidParts))]
    public void Record_keys_with_invalid_parts_cannot_be_created(string invalid)
    {
        Assert.Equal("scope", Assert.Throws<ArgumentException>(() => new DataRecordKey(invalid, "c", "n")).ParamName);
        Assert.Equal("collection", Assert.Throws<ArgumentException>(() => new DataRecordKey("s", invalid, "n")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => new DataRecordKey("s", "c", invalid)).ParamName);
    }

    [Fact]
    public async Task The_longest_allowed_parts_are_accepted()
    {
        var key = new DataRecordKey(new string('s', 128), new string('c', 128), new string('n', 128));

        await Store.SetAsync(key, new byte[] { 1 });

        Assert.Equal(new byte[] { 1 }, await Store.GetAsync(key));
        Assert.Equal([key.Name], await Store.ListAsync(key.Scope, key.Collection));
        Assert.Equal([key.Scope], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task A_value_over_16_MiB_is_refused_and_changes_nothing()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });

        var failure = await Assert.ThrowsAsync<ArgumentException>(() => Store.SetAsync(Key("history", "0001"), new byte[(16 * 1024 * 1024) + 1]));

        Assert.Equal("value", failure.ParamName);
        Assert.Equal(new byte[] { 1 }, await Store.GetAsync(Key("history", "0001")));
        Assert.Equal(["0001"], await Store.ListAsync(Conversation, "history"));
    }

    [Fact]
    public async Task Cancelled_calls_change_nothing()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.SetAsync(Key("history", "0001"), new byte[] { 2 }, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.SetAsync(Key("history", "0002"), new byte[] { 2 }, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.DeleteAsync(Key("history", "0001"), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.EraseScopeAsync(Conversation, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.GetAsync(Key("history", "0001"), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.ListAsync(Conversation, "history", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.ListScopesAsync(cancelled.Token));

        Assert.Equal(new byte[] { 1 }, await Store.GetAsync(Key("history", "0001")));
        Assert.Equal(["0001"], await Store.ListAsync(Conversation, "history"));
        Assert.Equal([Conversation], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task Concurrent_writers_on_distinct_keys_all_land()
    {
        DataRecordKey[] keys = Enumerable.Range(0, 48)
            .Select(i => new DataRecordKey($"c/conv-{i % 3}", i % 2 == 0 ? "history" : "outbox", $"{i:D4}"))
            .ToArray();

        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, token) =>
        {
            await Store.SetAsync(key, Encoding.ASCII.GetBytes(key.Name), token);
            await Store.SetAsync(key, Encoding.ASCII.GetBytes(key.Name + "!"), token);
        });

        foreach (DataRecordKey key in keys)
        {
            Assert.Equal(Encoding.ASCII.GetBytes(key.Name + "!"), await Store.GetAsync(key));
        }

        foreach (IGrouping<(string Scope, string Collection), DataRecordKey> group in keys.GroupBy(key => (key.Scope, key.Collection)))
        {
            Assert.Equal(group.Select(key => key.Name).Order(StringComparer.Ordinal), await Store.ListAsync(group.Key.Scope, group.Key.Collection));
        }

        Assert.Equal(["c/conv-0", "c/conv-1", "c/conv-2"], await Store.ListScopesAsync());
    }

    [Fact]
    public async Task Concurrent_writers_on_one_key_leave_one_of_the_written_values()
    {
        byte[][] values = Enumerable.Range(1, 12).Select(i => KeyStoreContractTests.Filled((byte)i, 5_000)).ToArray();

        await Parallel.ForEachAsync(values, new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (value, token) =>
        {
            await Store.SetAsync(Key("history", "shared"), value, token);
            KeyStoreContractTests.AssertWhole((await Store.GetAsync(Key("history", "shared"), token))!, 5_000);
        });

        byte[] final = (await Store.GetAsync(Key("history", "shared")))!;
        Assert.Contains(values, value => value.AsSpan().SequenceEqual(final));
        Assert.Equal(["shared"], await Store.ListAsync(Conversation, "history"));
    }

    [Fact]
    public async Task Erase_running_beside_writers_in_other_scopes_leaves_them_intact()
    {
        await Store.SetAsync(Key("history", "0001"), new byte[] { 1 });
        DataRecordKey[] others = Enumerable.Range(0, 20).Select(i => new DataRecordKey($"c/other-{i % 4}", "history", $"{i:D4}")).ToArray();

        Task erase = Store.EraseScopeAsync(Conversation);
        await Parallel.ForEachAsync(others, async (key, token) => await Store.SetAsync(key, Encoding.ASCII.GetBytes(key.Name), token));
        await erase;

        Assert.Null(await Store.GetAsync(Key("history", "0001")));
        foreach (DataRecordKey key in others)
        {
            Assert.Equal(Encoding.ASCII.GetBytes(key.Name), await Store.GetAsync(key));
        }
    }

    protected static DataRecordKey Key(string collection, string name) => new(Conversation, collection, name);

    protected abstract Task<IDataStore> CreateAsync();
}

public sealed class InMemoryDataStoreTests : DataStoreContractTests
{
    protected override Task<IDataStore> CreateAsync() => Task.FromResult<IDataStore>(new InMemoryDataStore());
}

public sealed class EncryptedFileDataStoreContractTests : DataStoreContractTests, IDisposable
{
    private readonly TempFolder _folder = new();
    private EncryptedFileStore? _store;

    public void Dispose()
    {
        _store?.Dispose();
        _folder.Dispose();
    }

    protected override async Task<IDataStore> CreateAsync()
    {
        _store = await StoreFixtures.OpenAsync(_folder);
        return _store.Data;
    }
}
