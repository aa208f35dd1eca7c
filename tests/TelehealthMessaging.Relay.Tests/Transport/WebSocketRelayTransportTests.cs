using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>The WebSocket transport against the real relay on 127.0.0.1 (SQLite store).</summary>
public sealed class WebSocketRelayTransportTests : RelayTransportTestBase, IClassFixture<SqliteStoreTarget>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public WebSocketRelayTransportTests(SqliteStoreTarget stores)
        : base(stores)
    {
    }

    [Fact]
    public async Task Envelopes_are_pushed_to_a_connected_device_as_they_are_stored()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport alice = Transport(server, Alice, "http");
        await using IRelayTransport bob = Transport(server, Bob, "ws");
        Task connected = StateReached(bob, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using var stream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await connected.WaitAsync(Patience);

        var envelope = new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope());
        await alice.SendAsync([envelope]);

        Assert.True(await next.WaitAsync(Patience));
        Assert.Equal(envelope.Id, stream.Current.Id);
        await bob.AcknowledgeAsync([envelope.Id]);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task After_the_socket_drops_the_stream_resumes_with_nothing_lost_and_each_envelope_once_to_the_application()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport alice = Transport(server, Alice, "http");
        await using IRelayTransport bob = Transport(server, Bob, "ws");
        OutgoingEnvelope[] sent = Enumerable.Range(0, 3).Select(_ => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope())).ToArray();
        await alice.SendAsync(sent[..2]);

        var filter = new DuplicateMessageFilter();
        var processed = new List<MessageId>();
        var states = new List<TransportState>();
        bob.StateChanged += (_, e) => { lock (states) { states.Add(e.Current); } };
        using var stop = new CancellationTokenSource();
        await using var stream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();

        async Task<IncomingEnvelope> NextAsync()
        {
            Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Patience));
            if (filter.TryAccept(stream.Current.Id))
            {
                processed.Add(stream.Current.Id);
            }

            return stream.Current;
        }

        IncomingEnvelope first = await NextAsync();
        await NextAsync();
        await bob.AcknowledgeAsync([first.Id]); // the second stays unacknowledged when the socket drops

        Task reconnected = StateReached(bob, TransportState.Reconnecting);
        ((WebSocketRelayTransport)bob).AbortConnection();
        await alice.SendAsync(sent[2..]);
        while (processed.Count < sent.Length)
        {
            IncomingEnvelope envelope = await NextAsync();
            await bob.AcknowledgeAsync([envelope.Id]);
        }

        await reconnected.WaitAsync(Patience);
        Assert.Equal(sent.Select(e => e.Id), processed);
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        await WaitUntilEmptyAsync(client);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task An_ack_frame_lost_with_its_socket_is_sent_again_after_reconnect_so_the_envelope_is_deleted()
    {
        await using RelayServer server = await StartAsync(await Stores.NewStoreAsync(), services: FirstAcknowledgementFailsStore.Install);
        await using IRelayTransport alice = Transport(server, Alice, "http");
        await using IRelayTransport bob = Transport(server, Bob, "ws");
        var envelope = new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope());
        await alice.SendAsync([envelope]);
        using var stop = new CancellationTokenSource();
        await using var stream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Patience));
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool dropped = false;
        bob.StateChanged += (_, e) =>
        {
            dropped |= e.Current == TransportState.Reconnecting;
            if (dropped && e.Current == TransportState.Connected)
            {
                reconnected.TrySetResult();
            }
        };

        // The relay fails to apply this ack frame and closes the socket.
        await bob.AcknowledgeAsync([stream.Current.Id]);
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await reconnected.Task.WaitAsync(Patience);

        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Empty((await client.FetchAsync(Bob)).Envelopes);
        Assert.False(next.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
    }

    [Fact]
    public async Task Cancelling_while_waiting_for_a_frame_ends_the_stream_with_OperationCanceledException()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport bob = Transport(server, Bob, "ws");
        Task connected = StateReached(bob, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using var stream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await connected.WaitAsync(Patience);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
        Assert.NotEqual(TransportState.Reconnecting, bob.State);
    }

    [Fact]
    public async Task Disposing_the_transport_while_waiting_for_a_frame_ends_the_stream_with_OperationCanceledException()
    {
        await using RelayServer server = await StartAsync();
        IRelayTransport bob = Transport(server, Bob, "ws");
        Task connected = StateReached(bob, TransportState.Connected);
        await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await connected.WaitAsync(Patience);

        await bob.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
        Assert.Equal(TransportState.Closed, bob.State);
    }

    private async Task WaitUntilEmptyAsync(RelayTestClient client)
    {
        // Acks over the socket are processed by the relay asynchronously; the last one is confirmed by a fetch.
        for (int i = 0; i < 100 && (await client.FetchAsync(Bob)).Envelopes.Count > 0; i++)
        {
            await Task.Yield();
        }

        Assert.Empty((await client.FetchAsync(Bob)).Envelopes);
    }

    private static Task StateReached(IRelayTransport transport, TransportState state)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.StateChanged += (_, e) =>
        {
            if (e.Current == state)
            {
                reached.TrySetResult();
            }
        };
        return reached.Task;
    }

    private async Task<RelayServer> StartAsync() => await StartAsync(await Stores.NewStoreAsync());

    private IRelayTransport Transport(RelayServer server, TestDevice device, string scheme)
    {
        RelayTransportOptions options = OptionsFor(server, device, scheme);
        options.ReconnectBaseDelay = TimeSpan.FromMilliseconds(10);
        options.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
        options.ReconnectRandom = new Random(1);
        return Create(options);
    }
}
