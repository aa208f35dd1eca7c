using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

/// <summary>The <see cref="ISessionStore"/> contract, run against every implementation.</summary>
public abstract class SessionStoreContractTests : IAsyncLifetime
{
    private static readonly DeviceId Alice = new("alice-phone");
    private static readonly DeviceId Bob = new("bob.tablet-2");

    protected ISessionStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await CreateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Load_returns_null_without_a_session()
    {
        Assert.Null(await Store.LoadAsync(Alice));
    }

    [Fact]
    public async Task Store_then_load_returns_the_state_per_peer()
    {
        await Store.StoreAsync(Alice, new byte[] { 1 });
        await Store.StoreAsync(Bob, new byte[] { 2, 2 });
        await Store.StoreAsync(Alice, new byte[] { 3, 3, 3 });

        Assert.Equal(new byte[] { 3, 3, 3 }, await Store.LoadAsync(Alice));
        Assert.Equal(new byte[] { 2, 2 }, await Store.LoadAsync(Bob));
    }

    [Fact]
    public async Task States_are_copied_in_and_out()
    {
        byte[] state = [5, 6];
        await Store.StoreAsync(Alice, state);
        state[0] = 0;
        (await Store.LoadAsync(Alice))![1] = 0;

        Assert.Equal(new byte[] { 5, 6 }, await Store.LoadAsync(Alice));
    }

    [Fact]
    public async Task Delete_and_list_track_the_peers_with_sessions()
    {
        await Store.StoreAsync(Bob, new byte[] { 1 });
        await Store.StoreAsync(Alice, new byte[] { 1 });
        Assert.Equal([Alice, Bob], await Store.ListAsync());

        Assert.True(await Store.DeleteAsync(Alice));
        Assert.False(await Store.DeleteAsync(Alice));
        Assert.Null(await Store.LoadAsync(Alice));
        Assert.Equal([Bob], await Store.ListAsync());
    }

    [Fact]
    public async Task A_default_device_id_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.StoreAsync(default, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.LoadAsync(default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.DeleteAsync(default));
    }

    [Fact]
    public async Task A_state_over_16_MiB_is_refused()
    {
        var failure = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.StoreAsync(Alice, new byte[(16 * 1024 * 1024) + 1]));

        Assert.Equal("state", failure.ParamName);
        Assert.Null(await Store.LoadAsync(Alice));
    }

    [Fact]
    public async Task A_cancelled_call_changes_nothing()
    {
        await Store.StoreAsync(Alice, new byte[] { 1 });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Store.StoreAsync(Alice, new byte[] { 2 }, cancelled.Token));

        Assert.Equal(new byte[] { 1 }, await Store.LoadAsync(Alice));
    }

    [Fact]
    public async Task Parallel_stores_for_many_peers_all_land()
    {
        DeviceId[] peers = Enumerable.Range(0, 40).Select(i => new DeviceId($"peer-{i:D2}")).ToArray();

        await Parallel.ForEachAsync(peers, async (peer, token) =>
        {
            await Store.StoreAsync(peer, System.Text.Encoding.ASCII.GetBytes(peer.Value), token);
            await Store.StoreAsync(peer, System.Text.Encoding.ASCII.GetBytes(peer.Value + "!"), token);
        });

        Assert.Equal(peers, await Store.ListAsync());
        foreach (DeviceId peer in peers)
        {
            Assert.Equal(System.Text.Encoding.ASCII.GetBytes(peer.Value + "!"), await Store.LoadAsync(peer));
        }
    }

    protected abstract Task<ISessionStore> CreateAsync();
}

public sealed class InMemorySessionStoreTests : SessionStoreContractTests
{
    protected override Task<ISessionStore> CreateAsync() => Task.FromResult<ISessionStore>(new InMemorySessionStore());
}

public sealed class EncryptedFileSessionStoreTests : SessionStoreContractTests, IDisposable
{
    private readonly TempFolder _folder = new();
    private EncryptedFileStore? _store;

    public void Dispose()
    {
        _store?.Dispose();
        _folder.Dispose();
    }

    protected override async Task<ISessionStore> CreateAsync()
    {
        _store = await StoreFixtures.OpenAsync(_folder);
        return _store.Sessions;
    }
}
