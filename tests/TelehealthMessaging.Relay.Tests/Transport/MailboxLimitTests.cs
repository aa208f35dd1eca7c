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
public abstract class MailboxLimitTests(IRelayStoreTarget stores)
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    [SkippableFact]
    public async Task Acknowledged_envelopes_free_their_places_and_a_batch_over_the_limit_is_refused()
    {
        Action<RelayOptions> store = await stores.NewStoreAsync();
        await using RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.MaxPendingPerMailbox = 2;
        });
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        using TestDevice alice = new(), bob = new();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(alice)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(bob)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()), ("m2", bob, bob.SealedEnvelope()))).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.AcknowledgeAsync(bob, "m1")).Status);

        RelayResponse third = await client.SubmitAsync(alice, ("m3", bob, bob.SealedEnvelope()));
        RelayResponse fourth = await client.SubmitAsync(alice, ("m4", bob, bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.Status);
        Assert.Equal(["m2", "m3"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Expired_envelopes_not_yet_purged_do_not_count_toward_the_limit()
    {
        Action<RelayOptions> store = await stores.NewStoreAsync();
        await using RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = _clock;
            o.MaxPendingPerMailbox = 2;
            o.EnvelopeTimeToLive = TimeSpan.FromMinutes(1);
        });
        using var client = new RelayTestClient(server.BaseAddress, _clock);
        using TestDevice alice = new(), bob = new();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(alice)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(bob)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()), ("m2", bob, bob.SealedEnvelope()))).Status);

        _clock.Advance(TimeSpan.FromMinutes(2));
        RelayResponse fresh = await client.SubmitAsync(alice, ("m3", bob, bob.SealedEnvelope()), ("m4", bob, bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.OK, fresh.Status);
        Assert.Equal(["m3", "m4"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Purged_envelopes_free_their_places_and_the_limit_still_holds_afterwards()
    {
        Action<RelayOptions> store = await stores.NewStoreAsync();
        await using RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = _clock;
            o.MaxPendingPerMailbox = 2;
            o.EnvelopeTimeToLive = TimeSpan.FromMinutes(1);
        });
        using var client = new RelayTestClient(server.BaseAddress, _clock);
        using TestDevice alice = new(), bob = new();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(alice)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(bob)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()), ("m2", bob, bob.SealedEnvelope()))).Status);
        _clock.Advance(TimeSpan.FromMinutes(2));

        RelayPurgeResult purged = await server.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);
        RelayResponse refill = await client.SubmitAsync(alice, ("m3", bob, bob.SealedEnvelope()), ("m4", bob, bob.SealedEnvelope()));
        RelayResponse over = await client.SubmitAsync(alice, ("m5", bob, bob.SealedEnvelope()));

        Assert.Equal(2, purged.Envelopes);
        Assert.Equal(HttpStatusCode.OK, refill.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, over.Status);
        Assert.Equal(["m3", "m4"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }
}

public sealed class SqliteMailboxLimitTests(SqliteStoreTarget stores) : MailboxLimitTests(stores), IClassFixture<SqliteStoreTarget>;

public sealed class PostgresMailboxLimitTests(PostgresStoreTarget stores) : MailboxLimitTests(stores), IClassFixture<PostgresStoreTarget>;
