using TelehealthMessaging.Transport;
using static TelehealthMessaging.Tests.Transport.TransportTestKit;

namespace TelehealthMessaging.Tests.Transport;

public sealed class RelayFaultTests
{
    private readonly TimerCountingTimeProvider _time = new();
    private readonly DeviceId _alice = DeviceId.New();
    private readonly DeviceId _bob = DeviceId.New();

    [Fact]
    public async Task Failing_the_next_calls_throws_transient_errors_and_changes_nothing()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        relay.Faults.FailNextCalls(2);

        for (int i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<RelayRequestException>(() => alice.SendAsync([Envelope(_bob)]));
            Assert.True(error.IsTransient);
            Assert.Equal(TelehealthErrorCode.RelayUnavailable, error.ErrorCode);
        }

        Assert.Equal(0, relay.PendingCount(_bob));
        await alice.SendAsync([Envelope(_bob)]);
        Assert.Equal(1, relay.PendingCount(_bob));
    }

    [Fact]
    public async Task A_partitioned_device_cannot_reach_the_relay_until_healed()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        var states = new List<TransportState>();
        alice.StateChanged += (_, e) => states.Add(e.Current);

        relay.Faults.Partition(_alice);
        var error = await Assert.ThrowsAsync<RelayRequestException>(() => alice.SendAsync([Envelope(_bob)]));
        relay.Faults.Heal(_alice);
        await alice.SendAsync([Envelope(_bob)]);

        Assert.True(error.IsTransient);
        Assert.Equal(1, relay.PendingCount(_bob));
        Assert.Equal([TransportState.Connected], states);
    }

    [Fact]
    public async Task A_receive_stream_reconnects_after_a_partition_and_delivers_what_arrived_meanwhile()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        await using IRelayTransport bob = relay.Connect(_bob);
        var states = new List<TransportState>();
        bob.StateChanged += (_, e) => states.Add(e.Current);

        relay.Faults.Partition(_bob);
        await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        OutgoingEnvelope envelope = Envelope(_bob);
        await alice.SendAsync([envelope]);
        Assert.False(next.IsCompleted);

        relay.Faults.Heal(_bob);
        _time.Advance(relay.RedeliveryInterval);

        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(envelope.Id, stream.Current.Id);
        Assert.Equal([TransportState.Connecting, TransportState.Reconnecting, TransportState.Connected], states);
    }

    [Fact]
    public async Task A_dropped_delivery_stays_stored_and_is_redelivered_on_the_next_round()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        await using IRelayTransport bob = relay.Connect(_bob);
        relay.Faults.DropNext(1);
        OutgoingEnvelope envelope = Envelope(_bob);
        await alice.SendAsync([envelope]);

        await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted);
        Assert.Equal(1, relay.PendingCount(_bob));

        _time.Advance(relay.RedeliveryInterval);

        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(envelope.Id, stream.Current.Id);
    }

    [Fact]
    public async Task A_dropped_delivery_is_recovered_by_receiving_again_from_the_cursor()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        await using IRelayTransport bob = relay.Connect(_bob);
        OutgoingEnvelope[] sent = [Envelope(_bob), Envelope(_bob), Envelope(_bob)];
        await alice.SendAsync(sent);
        relay.Faults.DropNext(1);

        await using (var first = bob.ReceiveAsync(null).GetAsyncEnumerator())
        {
            List<IncomingEnvelope> got = await TakeReadyAsync(first, 2);
            Assert.Equal(sent.Skip(1).Select(e => e.Id), got.Select(e => e.Id));
            await bob.AcknowledgeAsync(got.Select(e => e.Id).ToList());
        }

        await using var second = bob.ReceiveAsync(RelayCursor.Start).GetAsyncEnumerator();
        IncomingEnvelope recovered = Assert.Single(await TakeReadyAsync(second, 1));
        Assert.Equal(sent[0].Id, recovered.Id);
    }

    [Fact]
    public async Task Duplicated_deliveries_are_handed_over_twice()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        await using IRelayTransport bob = relay.Connect(_bob);
        OutgoingEnvelope envelope = Envelope(_bob);
        await alice.SendAsync([envelope]);
        relay.Faults.DuplicateNext(1);

        await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        List<IncomingEnvelope> got = await TakeReadyAsync(stream, 2);

        Assert.All(got, e => Assert.Equal(envelope.Id, e.Id));
    }

    [Fact]
    public async Task Reordering_with_the_same_seed_gives_the_same_order()
    {
        async Task<List<MessageId>> RunAsync(int seed, IReadOnlyList<MessageId> ids)
        {
            InMemoryRelay relay = NewRelay(seed);
            await using IRelayTransport alice = relay.Connect(_alice);
            await using IRelayTransport bob = relay.Connect(_bob);
            await alice.SendAsync(ids.Select(id => Envelope(_bob, id)).ToList());
            relay.Faults.Reorder = true;
            await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
            return (await TakeReadyAsync(stream, ids.Count)).Select(e => e.Id).ToList();
        }

        List<MessageId> ids = Enumerable.Range(0, 20).Select(_ => MessageId.New()).ToList();
        List<MessageId> first = await RunAsync(7, ids);
        List<MessageId> second = await RunAsync(7, ids);

        Assert.Equal(first, second);
        Assert.NotEqual(ids, first);
        Assert.Equal(ids.Select(id => id.Value).Order(StringComparer.Ordinal), first.Select(id => id.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Delay_holds_calls_on_the_relays_clock()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        relay.Faults.Delay = TimeSpan.FromSeconds(5);

        Task send = alice.SendAsync([Envelope(_bob)]);
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(send.IsCompleted);
        Assert.Equal(0, relay.PendingCount(_bob));

        _time.Advance(TimeSpan.FromSeconds(1));
        await send.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, relay.PendingCount(_bob));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(1234)]
    public async Task Under_drops_duplicates_reordering_and_failures_every_envelope_reaches_the_application_exactly_once(int seed)
    {
        InMemoryRelay relay = NewRelay(seed);
        await using IRelayTransport alice = relay.Connect(_alice);
        await using IRelayTransport bob = relay.Connect(_bob);
        relay.Faults.DropProbability = 0.3;
        relay.Faults.DuplicateProbability = 0.3;
        relay.Faults.Reorder = true;

        var sent = new List<MessageId>();
        for (int batch = 0; batch < 5; batch++)
        {
            List<OutgoingEnvelope> envelopes = Enumerable.Range(0, 10).Select(_ => Envelope(_bob)).ToList();
            relay.Faults.FailNextCalls(1);
            await Assert.ThrowsAsync<RelayRequestException>(() => alice.SendAsync(envelopes));
            await alice.SendAsync(envelopes);
            await alice.SendAsync(envelopes); // a resubmission whose first answer was "lost"
            sent.AddRange(envelopes.Select(e => e.Id));
        }

        var filter = new DuplicateMessageFilter();
        var processed = new List<MessageId>();
        await using var stream = bob.ReceiveAsync(null).GetAsyncEnumerator();
        await PumpAsync(stream, _time, relay.RedeliveryInterval, envelope =>
        {
            if (filter.TryAccept(envelope.Id))
            {
                processed.Add(envelope.Id);
            }

            return processed.Count == sent.Count;
        });

        Assert.Equal(sent.Select(id => id.Value).Order(StringComparer.Ordinal), processed.Select(id => id.Value).Order(StringComparer.Ordinal));
        await bob.AcknowledgeAsync(processed.Take(100).ToList());
        Assert.Equal(0, relay.PendingCount(_bob));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void Probabilities_outside_zero_to_one_are_refused(double value)
    {
        RelayFaults faults = NewRelay().Faults;

        Assert.Throws<ArgumentOutOfRangeException>(() => faults.DropProbability = value);
        Assert.Throws<ArgumentOutOfRangeException>(() => faults.DuplicateProbability = value);
        Assert.Equal(0, faults.DropProbability);
    }

    [Fact]
    public async Task Reset_removes_every_fault()
    {
        InMemoryRelay relay = NewRelay();
        await using IRelayTransport alice = relay.Connect(_alice);
        relay.Faults.Partition(_alice);
        relay.Faults.FailNextCalls(3);
        relay.Faults.Delay = TimeSpan.FromHours(1);

        relay.Faults.Reset();

        await alice.SendAsync([Envelope(_bob)]);
        Assert.Equal(1, relay.PendingCount(_bob));
    }

    private InMemoryRelay NewRelay(int seed = 0)
    {
        var relay = new InMemoryRelay(_time, seed);
        relay.AddDevice(_alice);
        relay.AddDevice(_bob);
        return relay;
    }
}
