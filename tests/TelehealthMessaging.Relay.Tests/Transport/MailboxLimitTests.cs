using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// The pending-envelope limit, which each store checks against a cheap bound (SQLite: the cursor range still stored;
/// PostgreSQL: a counter of envelopes stored minus those acknowledged or purged) and counts exactly only when the bound
/// cannot prove there is room: acknowledged, expired and purged envelopes must free their places.
/// </summary>
public abstract class MailboxLimitTests(IRelayStoreTarget stores) : IAsyncLifetime, IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
    private readonly TestDevice _alice = new();
    private readonly TestDevice _bob = new();
    private RelayServer? _server;
    private RelayTestClient? _client;

    private RelayTestClient Client => _client!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _client?.Dispose();
        _alice.Dispose();
        _bob.Dispose();
        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task Acknowledged_envelopes_free_their_places_and_a_batch_over_the_limit_is_refused()
    {
        await FillBobsMailboxAsync();
        Assert.Equal(HttpStatusCode.OK, (await Client.AcknowledgeAsync(_bob, "m1")).Status);

        RelayResponse third = await Client.SubmitAsync(_alice, ("m3", _bob, _bob.SealedEnvelope()));
        RelayResponse fourth = await Client.SubmitAsync(_alice, ("m4", _bob, _bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.Status);
        Assert.Equal(["m2", "m3"], (await Client.FetchAsync(_bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Expired_envelopes_not_yet_purged_do_not_count_toward_the_limit()
    {
        await FillBobsMailboxAsync();

        _clock.Advance(TimeSpan.FromMinutes(2));
        RelayResponse fresh = await Client.SubmitAsync(_alice, ("m3", _bob, _bob.SealedEnvelope()), ("m4", _bob, _bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.OK, fresh.Status);
        Assert.Equal(["m3", "m4"], (await Client.FetchAsync(_bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Purged_envelopes_free_their_places_and_the_limit_still_holds_afterwards()
    {
        await FillBobsMailboxAsync();
        _clock.Advance(TimeSpan.FromMinutes(2));

        RelayPurgeResult purged = await _server!.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);
        RelayResponse refill = await Client.SubmitAsync(_alice, ("m3", _bob, _bob.SealedEnvelope()), ("m4", _bob, _bob.SealedEnvelope()));
        RelayResponse over = await Client.SubmitAsync(_alice, ("m5", _bob, _bob.SealedEnvelope()));

        Assert.Equal(2, purged.Envelopes);
        Assert.Equal(HttpStatusCode.OK, refill.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, over.Status);
        Assert.Equal(["m3", "m4"], (await Client.FetchAsync(_bob)).Envelopes.Select(e => e.Id));
    }

    // A relay whose mailboxes hold 2 envelopes for 1 minute, with alice's m1 and m2 filling bob's.
    private async Task FillBobsMailboxAsync()
    {
        Action<RelayOptions> store = await stores.NewStoreAsync();
        _server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = _clock;
            o.MaxPendingPerMailbox = 2;
            o.EnvelopeTimeToLive = TimeSpan.FromMinutes(1);
        });
        _client = new RelayTestClient(_server.BaseAddress, _clock);
        Assert.Equal(HttpStatusCode.Created, (await Client.RegisterAsync(_alice)).Status);
        Assert.Equal(HttpStatusCode.Created, (await Client.RegisterAsync(_bob)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Client.SubmitAsync(_alice, ("m1", _bob, _bob.SealedEnvelope()), ("m2", _bob, _bob.SealedEnvelope()))).Status);
    }
}

public sealed class SqliteMailboxLimitTests(SqliteStoreTarget stores) : MailboxLimitTests(stores), IClassFixture<SqliteStoreTarget>;

public sealed class PostgresMailboxLimitTests(PostgresStoreTarget stores) : MailboxLimitTests(stores), IClassFixture<PostgresStoreTarget>;
