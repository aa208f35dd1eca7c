using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;
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

    [Fact]
    public async Task Sends_go_over_the_socket_while_the_stream_is_open_and_over_HTTP_when_no_stream_runs()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport alice = Transport(server, Alice, "ws");
        OutgoingEnvelope[] sent = Enumerable.Range(0, 4).Select(_ => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope())).ToArray();

        await alice.SendAsync([sent[0]]);
        int beforeStream = Requests.Submissions(Alice);
        Task connected = StateReached(alice, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using (var stream = alice.ReceiveAsync(null, stop.Token).GetAsyncEnumerator())
        {
            Task<bool> next = stream.MoveNextAsync().AsTask();
            await connected.WaitAsync(Patience);
            await alice.SendAsync([sent[1]]);
            await alice.SendAsync([sent[2]]);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
        }

        int duringStream = Requests.Submissions(Alice) - beforeStream;
        await alice.SendAsync([sent[3]]);

        Assert.Equal(1, beforeStream);
        Assert.Equal(0, duringStream);
        Assert.Equal(2, Requests.Submissions(Alice));
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Equal(sent.Select(e => e.Id.Value), (await client.FetchAsync(Bob)).Envelopes.Select(e => e.Id));
    }

    [Fact]
    public async Task A_batch_larger_than_the_frame_buffer_the_transport_keeps_and_the_small_ones_after_it_go_over_the_socket_intact()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport alice = Transport(server, Alice, "ws");
        // About 140 KB as a frame: past the 64 KiB the transport keeps between frames, so the buffer is let go after it.
        OutgoingEnvelope[] large = Enumerable.Range(0, 50).Select(_ => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope(2000))).ToArray();
        OutgoingEnvelope[] small = Enumerable.Range(0, 3).Select(_ => new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope())).ToArray();

        Task connected = StateReached(alice, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using (var stream = alice.ReceiveAsync(null, stop.Token).GetAsyncEnumerator())
        {
            Task<bool> next = stream.MoveNextAsync().AsTask();
            await connected.WaitAsync(Patience);
            await alice.SendAsync([small[0]]);
            await alice.SendAsync(large);
            await alice.SendAsync([small[1]]);
            await alice.SendAsync([small[2]]);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
        }

        Assert.Equal(0, Requests.Submissions(Alice));
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        var stored = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long after = 0;
        while (true)
        {
            var (page, cursor) = await client.FetchAsync(Bob, after);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var (_, id, data) in page)
            {
                stored[id] = data;
            }

            after = cursor;
        }

        OutgoingEnvelope[] all = [small[0], .. large, small[1], small[2]];
        Assert.Equal(all.Length, stored.Count);
        Assert.All(all, sent => Assert.Equal(sent.Data.ToArray(), stored[sent.Id.Value]));
    }

    [Fact]
    public async Task A_send_refused_on_the_socket_throws_RelayRequestException_with_its_status_and_problem_code_and_is_not_resent_over_HTTP()
    {
        await using RelayServer server = await StartAsync();
        await using IRelayTransport alice = Transport(server, Alice, "ws");
        using var unregistered = new TestDevice();
        Task connected = StateReached(alice, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using var stream = alice.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await connected.WaitAsync(Patience);

        var refused = await Assert.ThrowsAsync<RelayRequestException>(() => alice.SendAsync([new OutgoingEnvelope(MessageId.New(), unregistered.DeviceId, unregistered.SealedEnvelope())]));
        var envelope = new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope());
        await alice.SendAsync([envelope]);

        Assert.Equal(404, refused.StatusCode);
        Assert.Equal("unknown_recipient", refused.ProblemCode);
        Assert.False(refused.IsTransient);
        Assert.Equal(0, Requests.Submissions(Alice));
        Assert.Equal(TransportState.Connected, alice.State);
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Equal([envelope.Id.Value], (await client.FetchAsync(Bob)).Envelopes.Select(e => e.Id));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
    }

    [Fact]
    public async Task Sends_awaited_inside_the_receive_loop_behind_more_than_the_read_ahead_limit_complete_over_the_socket()
    {
        await using RelayServer server = await StartAsync();
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        // 600 pending envelopes: more than the transport reads ahead (256), so that once it has stopped reading, the
        // answers to Bob's sends sit behind envelopes it has not read.
        const int Pending = 600;
        for (int batch = 0; batch < Pending / 100; batch++)
        {
            RelayResponse submitted = await client.SubmitAsync(Alice, Enumerable.Range(0, 100).Select(i => ($"p{batch:D2}{i:D2}", Bob, Bob.SealedEnvelope())).ToArray());
            Assert.True(submitted.Status == System.Net.HttpStatusCode.OK, submitted.ToString());
        }

        RelayTransportOptions options = TransportOptions(server, Bob, "ws");
        options.DeadConnectionTimeout = TimeSpan.FromMinutes(1);
        await using IRelayTransport bob = Create(options);
        var replies = Enumerable.Range(0, 10).Select(_ => new OutgoingEnvelope(MessageId.New(), Alice.DeviceId, Alice.SealedEnvelope())).ToArray();
        var received = new List<string>();
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        await using var stream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        try
        {
            while (received.Count < Pending)
            {
                Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Patience));
                received.Add(stream.Current.Id.Value);
                if (received.Count <= replies.Length)
                {
                    // The application answers from inside its receive loop, as a chat client does; the first send's
                    // round trip leaves the transport time to fill its read-ahead, so later ones wait behind a full queue.
                    await bob.SendAsync([replies[received.Count - 1]]).WaitAsync(Patience);
                }
            }
        }
        finally
        {
            // Ends the stream before it is disposed, also when the test fails with the read-ahead full.
            await stop.CancelAsync();
        }

        Assert.True(elapsed.Elapsed < Patience, $"took {elapsed.Elapsed}");
        Assert.Equal(0, Requests.Submissions(Bob));
        Assert.Equal(Enumerable.Range(0, Pending).Select(i => $"p{i / 100:D2}{i % 100:D2}"), received);
        Assert.Equal(replies.Select(e => e.Id.Value), (await client.FetchAsync(Alice)).Envelopes.Select(e => e.Id));
    }

    [Fact]
    public async Task Leaving_the_receive_loop_while_the_read_ahead_is_full_ends_the_stream_promptly()
    {
        await using RelayServer server = await StartAsync();
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        for (int batch = 0; batch < 4; batch++)
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.SubmitAsync(Alice, Enumerable.Range(0, 100).Select(i => ($"p{batch}{i:D2}", Bob, Bob.SealedEnvelope())).ToArray())).Status);
        }

        await using IRelayTransport bob = Transport(server, Bob, "ws");
        var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Patience));
        // The frame reader stops once 256 envelopes wait for the application; without waiting for that, the test
        // would race the reader.
        await WaitUntilAsync(() => ((WebSocketRelayTransport)bob).ReadAhead >= 256);

        // What `break` out of an `await foreach` does: dispose the enumerator, with no cancellation.
        await stream.DisposeAsync().AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task A_send_whose_socket_dies_before_the_answer_is_resubmitted_over_HTTP_and_stored_once()
    {
        await using RelayServer server = await StartAsync(await Stores.NewStoreAsync(), services: FirstSubmissionHeldStore.Install);
        var store = (FirstSubmissionHeldStore)server.Services.GetRequiredService<IRelayStore>();
        await using IRelayTransport alice = Transport(server, Alice, "ws");
        Task connected = StateReached(alice, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using var stream = alice.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        await connected.WaitAsync(Patience);
        var envelope = new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope());

        Task send = alice.SendAsync([envelope]);
        // The relay has stored the frame's envelope; its answer is held, and the socket dies before it is written.
        await store.FirstStored.WaitAsync(Patience);
        ((WebSocketRelayTransport)alice).AbortConnection();
        await send.WaitAsync(Patience);
        store.Release();

        Assert.Equal(1, Requests.Submissions(Alice));
        using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
        Assert.Equal([envelope.Id.Value], (await client.FetchAsync(Bob)).Envelopes.Select(e => e.Id));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience));
    }

    [Fact]
    public async Task An_envelope_stored_by_a_submission_whose_answer_was_lost_still_reaches_the_connected_recipient()
    {
        await using RelayServer server = await StartAsync(await Stores.NewStoreAsync(), services: FirstSubmissionHeldStore.Install);
        var store = (FirstSubmissionHeldStore)server.Services.GetRequiredService<IRelayStore>();
        await using IRelayTransport alice = Transport(server, Alice, "ws");
        await using IRelayTransport bob = Transport(server, Bob, "ws");
        Task aliceConnected = StateReached(alice, TransportState.Connected);
        Task bobConnected = StateReached(bob, TransportState.Connected);
        using var stop = new CancellationTokenSource();
        await using var aliceStream = alice.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> aliceNext = aliceStream.MoveNextAsync().AsTask();
        await using var bobStream = bob.ReceiveAsync(null, stop.Token).GetAsyncEnumerator();
        Task<bool> bobNext = bobStream.MoveNextAsync().AsTask();
        await Task.WhenAll(aliceConnected, bobConnected).WaitAsync(Patience);
        var envelope = new OutgoingEnvelope(MessageId.New(), Bob.DeviceId, Bob.SealedEnvelope());

        Task send = alice.SendAsync([envelope]);
        // Stored, but the submission ends in an error (its sender's socket died) and never hands the envelope over;
        // the HTTP resubmission that follows is a duplicate, which stores and hands over nothing either.
        await store.FirstStored.WaitAsync(Patience);
        ((WebSocketRelayTransport)alice).AbortConnection();
        await send.WaitAsync(Patience);

        // Bob's session was told to read its mailbox when the submission failed.
        Assert.True(await bobNext.WaitAsync(Patience));
        Assert.Equal(envelope.Id, bobStream.Current.Id);
        store.Release();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => aliceNext.WaitAsync(Patience));
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

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (!condition())
        {
            // Re-checks state another thread reaches; the deadline bounds it.
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }
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

    private IRelayTransport Transport(RelayServer server, TestDevice device, string scheme) => Create(TransportOptions(server, device, scheme));

    private static RelayTransportOptions TransportOptions(RelayServer server, TestDevice device, string scheme)
    {
        RelayTransportOptions options = OptionsFor(server, device, scheme);
        options.ReconnectBaseDelay = TimeSpan.FromMilliseconds(10);
        options.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
        options.ReconnectRandom = new Random(1);
        return options;
    }
}
