using System.Net;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// The pending-envelope limit on the SQLite submit path, which counts a mailbox exactly only when a cheap bound (the
/// cursor range still stored) cannot prove there is room: acknowledged and expired envelopes must free their places.
/// </summary>
public sealed class MailboxLimitTests(SqliteStoreTarget stores) : IClassFixture<SqliteStoreTarget>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    [Fact]
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

    [Fact]
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
}
