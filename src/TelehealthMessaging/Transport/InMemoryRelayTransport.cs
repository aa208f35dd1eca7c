using System.Runtime.CompilerServices;

namespace TelehealthMessaging.Transport;

/// <summary>A device's connection to an <see cref="InMemoryRelay"/>, shaped by the relay's <see cref="RelayFaults"/>.</summary>
internal sealed class InMemoryRelayTransport : IRelayTransport
{
    private readonly InMemoryRelay _relay;
    private readonly DeviceId _device;
    private readonly CancellationTokenSource _disposed = new();
    private readonly TransportStateTracker _status;

    public InMemoryRelayTransport(InMemoryRelay relay, DeviceId device)
    {
        _relay = relay;
        _device = device;
        _status = new TransportStateTracker(this);
    }

    public event EventHandler<TransportStateChangedEventArgs>? StateChanged
    {
        add => _status.Changed += value;
        remove => _status.Changed -= value;
    }

    public TransportState State => _status.Current;

    public async Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(batch));
        }

        await CallAsync(() => _relay.Submit(batch), cancellationToken).ConfigureAwait(false);
    }

    public async Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count is 0 or > InMemoryRelay.MaxFetchEnvelopes || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("Acknowledge 1 to 100 valid message ids at a time.", nameof(ids));
        }

        await CallAsync(() => _relay.Acknowledge(_device, ids), cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<IncomingEnvelope> ReceiveAsync(RelayCursor? after, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        CancellationToken ct = linked.Token;
        RelayCursor start = after ?? RelayCursor.Start;

        // Cursors handed over on this stream: like a WebSocket session, a stream delivers each envelope once unless a
        // fault dropped it; reconnecting (a new stream) delivers every unacknowledged envelope again.
        var handedOver = new HashSet<long>();
        _status.Set(TransportState.Connecting);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            (List<IncomingEnvelope>? round, Task arrival, bool failed) = await NextRoundAsync(start, handedOver, ct).ConfigureAwait(false);
            if (round is not null)
            {
                foreach (IncomingEnvelope envelope in round)
                {
                    handedOver.Add(envelope.Cursor.Value);
                    yield return envelope;
                }
            }

            // Wait for new envelopes, or retry after a failure, or look again for dropped ones.
            Task redelivery = Task.Delay(_relay.RedeliveryInterval, _relay.TimeProvider, ct);
            Task woke = failed ? redelivery : await Task.WhenAny(arrival, redelivery).ConfigureAwait(false);
            if (woke == redelivery)
            {
                await redelivery.ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            _status.Set(TransportState.Closed);
            _disposed.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<(List<IncomingEnvelope>? Round, Task Arrival, bool Failed)> NextRoundAsync(RelayCursor start, HashSet<long> handedOver, CancellationToken ct)
    {
        try
        {
            await DelayAsync(ct).ConfigureAwait(false);
            _relay.Faults.ThrowIfCallFails(_device);
        }
        catch (RelayRequestException error)
        {
            _status.Set(TransportState.Reconnecting, error);
            return (null, Task.CompletedTask, true);
        }

        (List<IncomingEnvelope> pending, Task arrival) = _relay.Fetch(_device, start);
        var stillPending = pending.Select(e => e.Cursor.Value).ToHashSet();
        handedOver.IntersectWith(stillPending);
        var fresh = pending.Where(e => !handedOver.Contains(e.Cursor.Value)).Take(InMemoryRelay.MaxFetchEnvelopes).ToList();
        _status.Set(TransportState.Connected);
        return (_relay.Faults.ShapeDeliveries(fresh), arrival, false);
    }

    private async Task CallAsync(Action call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _relay.Faults.ThrowIfCallFails(_device);
        }
        catch (RelayRequestException error)
        {
            _status.Set(TransportState.Disconnected, error);
            throw;
        }

        call();
        _status.Set(TransportState.Connected);
    }

    private Task DelayAsync(CancellationToken ct)
    {
        TimeSpan delay = _relay.Faults.Delay;
        return delay > TimeSpan.Zero ? Task.Delay(delay, _relay.TimeProvider, ct) : Task.CompletedTask;
    }
}
