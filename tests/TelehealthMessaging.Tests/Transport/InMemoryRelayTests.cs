using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Transport;
using static TelehealthMessaging.Tests.Transport.TransportTestKit;

namespace TelehealthMessaging.Tests.Transport;

public sealed class InMemoryRelayTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryRelay _relay;
    private readonly DeviceId _alice = DeviceId.New();
    private readonly DeviceId _bob = DeviceId.New();
    private readonly IRelayTransport _aliceTransport;
    private readonly IRelayTransport _bobTransport;

    public InMemoryRelayTests()
    {
        _relay = new InMemoryRelay(_time);
        _relay.AddDevice(_alice);
        _relay.AddDevice(_bob);
        _aliceTransport = _relay.Connect(_alice);
        _bobTransport = _relay.Connect(_bob);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _aliceTransport.DisposeAsync();
        await _bobTransport.DisposeAsync();
    }

    [Fact]
    public async Task Sent_envelopes_are_received_in_store_order_with_increasing_cursors()
    {
        OutgoingEnvelope[] sent = [Envelope(_bob), Envelope(_bob), Envelope(_bob)];
        await _aliceTransport.SendAsync(sent);

        await using var stream = _bobTransport.ReceiveAsync(null).GetAsyncEnumerator();
        List<IncomingEnvelope> received = await TakeReadyAsync(stream, 3);

        Assert.Equal(sent.Select(e => e.Id), received.Select(e => e.Id));
        Assert.Equal([1L, 2L, 3L], received.Select(e => e.Cursor.Value));
        Assert.True(sent[1].Data.Span.SequenceEqual(received[1].Data.Span));
    }

    [Fact]
    public async Task Receiving_waits_for_new_envelopes_and_delivers_them_on_arrival()
    {
        await using var stream = _bobTransport.ReceiveAsync(null).GetAsyncEnumerator();
        Task<bool> next = stream.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted);

        OutgoingEnvelope envelope = Envelope(_bob);
        await _aliceTransport.SendAsync([envelope]);

        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(envelope.Id, stream.Current.Id);
    }

    [Fact]
    public async Task Receiving_after_a_cursor_skips_everything_up_to_it()
    {
        await _aliceTransport.SendAsync([Envelope(_bob), Envelope(_bob), Envelope(_bob)]);

        using var cancel = new CancellationTokenSource();
        await using var stream = _bobTransport.ReceiveAsync(new RelayCursor(2), cancel.Token).GetAsyncEnumerator();
        IncomingEnvelope only = Assert.Single(await TakeReadyAsync(stream, 1));

        Assert.Equal(3, only.Cursor.Value);
        await AssertNothingReadyAndStopAsync(stream, cancel);
    }

    [Fact]
    public async Task Resubmitting_a_pending_or_acknowledged_id_stores_nothing()
    {
        OutgoingEnvelope envelope = Envelope(_bob);
        await _aliceTransport.SendAsync([envelope]);
        await _aliceTransport.SendAsync([envelope]);
        Assert.Equal(1, _relay.PendingCount(_bob));

        await _bobTransport.AcknowledgeAsync([envelope.Id]);
        await _aliceTransport.SendAsync([envelope]);

        Assert.Equal(0, _relay.PendingCount(_bob));
    }

    [Fact]
    public async Task An_acknowledged_id_may_be_reused_after_the_time_to_live()
    {
        OutgoingEnvelope envelope = Envelope(_bob);
        await _aliceTransport.SendAsync([envelope]);
        await _bobTransport.AcknowledgeAsync([envelope.Id]);

        _time.Advance(_relay.EnvelopeTimeToLive);
        await _aliceTransport.SendAsync([envelope]);

        Assert.Equal(1, _relay.PendingCount(_bob));
    }

    [Fact]
    public async Task A_device_receives_and_acknowledges_only_its_own_mailbox()
    {
        OutgoingEnvelope toBob = Envelope(_bob);
        await _bobTransport.SendAsync([Envelope(_alice)]);
        await _aliceTransport.SendAsync([toBob]);

        // Alice acknowledging Bob's id deletes nothing from Bob's mailbox.
        await _aliceTransport.AcknowledgeAsync([toBob.Id]);
        Assert.Equal(1, _relay.PendingCount(_bob));

        using var cancel = new CancellationTokenSource();
        await using var stream = _aliceTransport.ReceiveAsync(null, cancel.Token).GetAsyncEnumerator();
        IncomingEnvelope mine = Assert.Single(await TakeReadyAsync(stream, 1));
        Assert.NotEqual(toBob.Id, mine.Id);
        await AssertNothingReadyAndStopAsync(stream, cancel);
    }

    [Fact]
    public async Task A_batch_with_an_unknown_recipient_stores_nothing()
    {
        var error = await Assert.ThrowsAsync<RelayRequestException>(
            () => _aliceTransport.SendAsync([Envelope(_bob), Envelope(DeviceId.New())]));

        Assert.Equal("unknown_recipient", error.ProblemCode);
        Assert.Equal(404, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal(0, _relay.PendingCount(_bob));
    }

    [Fact]
    public async Task An_envelope_whose_header_names_another_recipient_is_refused()
    {
        OutgoingEnvelope forAlice = Envelope(_alice);
        var misrouted = new OutgoingEnvelope(MessageId.New(), _bob, forAlice.Data);

        var error = await Assert.ThrowsAsync<RelayRequestException>(() => _aliceTransport.SendAsync([misrouted]));

        Assert.Equal("recipient_mismatch", error.ProblemCode);
        Assert.Equal(0, _relay.PendingCount(_bob) + _relay.PendingCount(_alice));
    }

    [Theory]
    [InlineData(new byte[] { 2, 1, (byte)'x' }, "unknown_envelope_version")]
    [InlineData(new byte[] { 1, 3, (byte)'b' }, "invalid_envelope")]
    public async Task Malformed_envelopes_are_refused_with_the_relays_problem_code(byte[] data, string code)
    {
        var error = await Assert.ThrowsAsync<RelayRequestException>(
            () => _aliceTransport.SendAsync([new OutgoingEnvelope(MessageId.New(), _bob, data)]));

        Assert.Equal(code, error.ProblemCode);
        Assert.Equal(400, error.StatusCode);
    }

    [Fact]
    public async Task Batches_over_the_limit_are_refused_as_too_large()
    {
        OutgoingEnvelope[] batch = Enumerable.Range(0, InMemoryRelay.MaxBatchEnvelopes + 1).Select(_ => Envelope(_bob)).ToArray();

        var error = await Assert.ThrowsAsync<RelayRequestException>(() => _aliceTransport.SendAsync(batch));

        Assert.Equal("too_large", error.ProblemCode);
        Assert.Equal(0, _relay.PendingCount(_bob));
    }

    [Fact]
    public async Task A_full_mailbox_refuses_the_whole_batch_as_rate_limited_with_retry_after()
    {
        _relay.MaxPendingPerMailbox = 2;
        await _aliceTransport.SendAsync([Envelope(_bob)]);

        var error = await Assert.ThrowsAsync<RelayRequestException>(() => _aliceTransport.SendAsync([Envelope(_bob), Envelope(_bob)]));

        Assert.Equal("mailbox_full", error.ProblemCode);
        Assert.Equal(TelehealthErrorCode.RateLimited, error.ErrorCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(60), error.RetryAfter);
        Assert.Equal(1, _relay.PendingCount(_bob));
    }

    [Fact]
    public async Task Empty_batches_and_acknowledgements_are_programmer_errors()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _aliceTransport.SendAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => _aliceTransport.AcknowledgeAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => _aliceTransport.AcknowledgeAsync([default]));
    }

    [Fact]
    public async Task Envelopes_expire_after_the_time_to_live()
    {
        await _aliceTransport.SendAsync([Envelope(_bob)]);

        _time.Advance(_relay.EnvelopeTimeToLive);

        Assert.Equal(0, _relay.PendingCount(_bob));
    }

    [Fact]
    public void Connecting_a_device_that_was_not_added_is_refused()
    {
        Assert.Throws<ArgumentException>(() => _relay.Connect(DeviceId.New()));
    }

    [Fact]
    public async Task Envelope_descriptions_never_contain_the_bytes()
    {
        OutgoingEnvelope envelope = Envelope(_bob);
        string text = envelope.ToString();

        Assert.Contains(envelope.Id.Value, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(envelope.Data.Span), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(envelope.Data.Span), text, StringComparison.OrdinalIgnoreCase);

        await _aliceTransport.SendAsync([envelope]);
        await using var stream = _bobTransport.ReceiveAsync(null).GetAsyncEnumerator();
        IncomingEnvelope received = Assert.Single(await TakeReadyAsync(stream, 1));
        Assert.DoesNotContain(Convert.ToBase64String(received.Data.Span), received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_closes_the_transport_and_refuses_further_calls()
    {
        var states = new List<TransportState>();
        _aliceTransport.StateChanged += (_, e) => states.Add(e.Current);
        await _aliceTransport.SendAsync([Envelope(_bob)]);

        await _aliceTransport.DisposeAsync();

        Assert.Equal([TransportState.Connected, TransportState.Closed], states);
        Assert.Equal(TransportState.Closed, _aliceTransport.State);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _aliceTransport.SendAsync([Envelope(_bob)]));
    }
}
