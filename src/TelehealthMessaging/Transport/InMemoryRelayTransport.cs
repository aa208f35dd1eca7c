using System.Runtime.CompilerServices;

namespace TelehealthMessaging.Transport;

/// <summary>A device's connection to an <see cref="InMemoryRelay"/>, shaped by the relay's <see cref="RelayFaults"/>.</summary>
internal sealed class InMemoryRelayTransport(InMemoryRelay relay, DeviceId device) : IRelayTransport
{
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _stateGate = new();
    private TransportState _state = TransportState.Disconnected;

    public event EventHandler<TransportStateChangedEventArgs>? StateChanged;

    public TransportState State
    {
        get
        {
            lock (_stateGate)
            {
                return _state;
            }
        }
    }

    public async Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(batch));
        }

        await CallAsync(() => relay.Submit(batch), cancellationToken).ConfigureAwait(false);
    }

    public async Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count is 0 or > InMemoryRelay.MaxFetchEnvelopes || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("Acknowledge 1 to 100 valid message ids at a time.", nameof(ids));
        }

        await CallAsync(() => relay.Acknowledge(device, ids), cancellationToken).ConfigureAwait(false);
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
        SetState(TransportState.Connecting);
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
            Task redelivery = Task.Delay(relay.RedeliveryInterval, relay.TimeProvider, ct);
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
            SetState(TransportState.Closed);
            _disposed.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<(List<IncomingEnvelope>? Round, Task Arrival, bool Failed)> NextRoundAsync(RelayCursor start, HashSet<long> handedOver, CancellationToken ct)
    {
        try
        {
            await DelayAsync(ct).ConfigureAwait(false);
            relay.Faults.ThrowIfCallFails(device);
        }
        catch (RelayRequestException error)
        {
            SetState(TransportState.Reconnecting, error);
            return (null, Task.CompletedTask, true);
        }

        (List<IncomingEnvelope> pending, Task arrival) = relay.Fetch(device, start);
        var stillPending = pending.Select(e => e.Cursor.Value).ToHashSet();
        handedOver.IntersectWith(stillPending);
        var fresh = pending.Where(e => !handedOver.Contains(e.Cursor.Value)).Take(InMemoryRelay.MaxFetchEnvelopes).ToList();
        SetState(TransportState.Connected);
        return (relay.Faults.ShapeDeliveries(fresh), arrival, false);
    }

    private async Task CallAsync(Action call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            relay.Faults.ThrowIfCallFails(device);
        }
        catch (RelayRequestException error)
        {
            SetState(TransportState.Disconnected, error);
            throw;
        }

        call();
        SetState(TransportState.Connected);
    }

    private Task DelayAsync(CancellationToken ct)
    {
        TimeSpan delay = relay.Faults.Delay;
        return delay > TimeSpan.Zero ? Task.Delay(delay, relay.TimeProvider, ct) : Task.CompletedTask;
    }

    private void SetState(TransportState next, Exception? error = null)
    {
        TransportState previous;
        lock (_stateGate)
        {
            previous = _state;
            if (previous == next || previous == TransportState.Closed)
            {
                return;
            }

            _state = next;
        }

        StateChanged?.Invoke(this, new TransportStateChangedEventArgs(previous, next, error));
    }
}
