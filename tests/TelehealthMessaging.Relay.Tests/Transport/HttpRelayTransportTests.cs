using System.Net;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>The HTTP transport against the real relay on 127.0.0.1 (SQLite store).</summary>
public sealed class HttpRelayTransportTests : RelayTransportTestBase, IClassFixture<SqliteStoreTarget>
{
    public HttpRelayTransportTests(SqliteStoreTarget stores)
        : base(stores)
    {
    }

    [Fact]
    public async Task Envelopes_sent_over_http_are_received_and_acknowledged()
    {
        await using RelayServer server = await StartAsync(await Stores.NewStoreAsync());
        await using IRelayTransport alice = Transport(server, Alice);
        await using IRelayTransport bob = Transport(server, Bob);
        byte[][] data = [Bob.SealedEnvelope(), Bob.SealedEnvelope(), Bob.SealedEnvelope()];
        OutgoingEnvelope[] sent = data.Select(d => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, d)).ToArray();

        await alice.SendAsync(sent);
        await alice.SendAsync(sent); // resubmission is idempotent
        List<IncomingEnvelope> received = await ReceiveAsync(bob, null, sent.Length);

        Assert.Equal(sent.Select(e => e.Id), received.Select(e => e.Id));
        Assert.True(data[2].AsSpan().SequenceEqual(received[2].Data.Span));
        Assert.Equal(TransportState.Connected, bob.State);

        await bob.AcknowledgeAsync(received.Select(e => e.Id).ToList());
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Empty((await client.FetchAsync(Bob)).Envelopes);
    }

    [Fact]
    public async Task Refusals_carry_the_relays_problem_code_and_are_not_transient()
    {
        await using RelayServer server = await StartAsync(await Stores.NewStoreAsync());
        await using IRelayTransport alice = Transport(server, Alice);
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
        Action<RelayOptions> store = await Stores.NewStoreAsync();
        OutgoingEnvelope[] sent = Enumerable.Range(0, 4).Select(_ => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope())).ToArray();
        RelayCursor processed;
        await using (RelayServer first = await StartAsync(store))
        {
            await using IRelayTransport alice = Transport(first, Alice);
            await using IRelayTransport bob = Transport(first, Bob);
            await alice.SendAsync(sent);
            List<IncomingEnvelope> firstTwo = await ReceiveAsync(bob, null, 2);
            await bob.AcknowledgeAsync(firstTwo.Select(e => e.Id).ToList());
            processed = firstTwo[^1].Cursor;
            await first.KillAsync();
        }

        await using RelayServer second = await StartAsync(store, register: false);
        await using IRelayTransport bobAgain = Transport(second, Bob);
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

    private IRelayTransport Transport(RelayServer server, TestDevice device)
    {
        RelayTransportOptions options = OptionsFor(server, device);
        options.PollInterval = TimeSpan.FromMilliseconds(50);
        return Create(options);
    }
}
