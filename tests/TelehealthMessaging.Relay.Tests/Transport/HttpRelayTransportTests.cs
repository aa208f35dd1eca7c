using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>The HTTP transport against the real relay on 127.0.0.1 (SQLite store).</summary>
public sealed class HttpRelayTransportTests : IClassFixture<SqliteStoreTarget>, IAsyncDisposable
{
    private readonly SqliteStoreTarget _stores;
    private readonly ServiceProvider _services;
    private readonly TestDevice _alice = new();
    private readonly TestDevice _bob = new();

    public HttpRelayTransportTests(SqliteStoreTarget stores)
    {
        _stores = stores;
        var services = new ServiceCollection();
        services.AddRelayTransportHttpClient();
        _services = services.BuildServiceProvider();
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public async Task Envelopes_sent_over_http_are_received_and_acknowledged()
    {
        await using RelayServer server = await StartAsync(await _stores.NewStoreAsync());
        await using IRelayTransport alice = Transport(server, _alice);
        await using IRelayTransport bob = Transport(server, _bob);
        byte[][] data = [_bob.SealedEnvelope(), _bob.SealedEnvelope(), _bob.SealedEnvelope()];
        OutgoingEnvelope[] sent = data.Select(d => new OutgoingEnvelope(MessageId.New(), _bob.DeviceId, d)).ToArray();

        await alice.SendAsync(sent);
        await alice.SendAsync(sent); // resubmission is idempotent
        List<IncomingEnvelope> received = await ReceiveAsync(bob, null, sent.Length);

        Assert.Equal(sent.Select(e => e.Id), received.Select(e => e.Id));
        Assert.True(data[2].AsSpan().SequenceEqual(received[2].Data.Span));
        Assert.Equal(TransportState.Connected, bob.State);

        await bob.AcknowledgeAsync(received.Select(e => e.Id).ToList());
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Empty((await client.FetchAsync(_bob)).Envelopes);
    }

    [Fact]
    public async Task Refusals_carry_the_relays_problem_code_and_are_not_transient()
    {
        await using RelayServer server = await StartAsync(await _stores.NewStoreAsync());
        await using IRelayTransport alice = Transport(server, _alice);
        using var stranger = new TestDevice();

        var error = await Assert.ThrowsAsync<RelayRequestException>(
            () => alice.SendAsync([new OutgoingEnvelope(MessageId.New(), stranger.DeviceId, stranger.SealedEnvelope())]));

        Assert.Equal("unknown_recipient", error.ProblemCode);
        Assert.Equal((int)HttpStatusCode.NotFound, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.DoesNotContain(stranger.DeviceId.Value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_relay_host_on_the_same_store_delivers_everything_not_yet_acknowledged()
    {
        Action<RelayOptions> store = await _stores.NewStoreAsync();
        OutgoingEnvelope[] sent = Enumerable.Range(0, 4).Select(_ => new OutgoingEnvelope(MessageId.New(), _bob.DeviceId, _bob.SealedEnvelope())).ToArray();
        RelayCursor processed;
        await using (RelayServer first = await StartAsync(store))
        {
            await using IRelayTransport alice = Transport(first, _alice);
            await using IRelayTransport bob = Transport(first, _bob);
            await alice.SendAsync(sent);
            List<IncomingEnvelope> firstTwo = await ReceiveAsync(bob, null, 2);
            await bob.AcknowledgeAsync(firstTwo.Select(e => e.Id).ToList());
            processed = firstTwo[^1].Cursor;
            await first.KillAsync();
        }

        await using RelayServer second = await StartAsync(store, register: false);
        await using IRelayTransport bobAgain = Transport(second, _bob);
        List<IncomingEnvelope> rest = await ReceiveAsync(bobAgain, processed, 2);

        Assert.Equal(sent.Skip(2).Select(e => e.Id), rest.Select(e => e.Id));
    }

    private static async Task<List<IncomingEnvelope>> ReceiveAsync(IRelayTransport transport, RelayCursor? after, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new List<IncomingEnvelope>();
        await foreach (IncomingEnvelope envelope in transport.ReceiveAsync(after, timeout.Token))
        {
            received.Add(envelope);
            if (received.Count == count)
            {
                break;
            }
        }

        return received;
    }

    private async Task<RelayServer> StartAsync(Action<RelayOptions> store, bool register = true)
    {
        RelayServer server = await RelayServer.StartAsync(store);
        if (register)
        {
            using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(_alice)).Status);
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(_bob)).Status);
        }

        return server;
    }

    private IRelayTransport Transport(RelayServer server, TestDevice device) =>
        RelayTransport.Create(
            new RelayTransportOptions
            {
                Endpoint = server.BaseAddress,
                Device = device.DeviceId,
                RequestSigner = data => device.IdentityKey.Sign(data.Span),
                PollInterval = TimeSpan.FromMilliseconds(50),
            },
            _services.GetRequiredService<IHttpClientFactory>());
}
