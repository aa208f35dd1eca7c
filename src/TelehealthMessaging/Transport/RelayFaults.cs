namespace TelehealthMessaging.Transport;

/// <summary>
/// Faults an <see cref="InMemoryRelay"/> injects, so that tests can prove a client survives a real network.
/// Random faults draw from the relay's seeded <see cref="Random"/>, so a test with a fixed seed is reproducible.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Delivery faults act on what a transport hands to its receiver, never on what is stored: a dropped envelope stays in
/// the mailbox and is delivered again on the next redelivery round or reconnect, as with a lost WebSocket frame.
/// Call faults (<see cref="FailNextCalls"/>, <see cref="Partition"/>, and <see cref="Delay"/>) apply to transport and
/// relay directory calls alike; the first two make calls fail with a transient
/// <see cref="RelayRequestException"/> (<see cref="TelehealthErrorCode.RelayUnavailable"/>) before they change anything.
/// </remarks>
public sealed class RelayFaults
{
    private readonly object _gate = new();
    private readonly Random _random;
    private readonly HashSet<DeviceId> _partitioned = [];
    private int _dropNext;
    private int _duplicateNext;
    private int _failNext;
    private double _dropProbability;
    private double _duplicateProbability;
    private bool _reorder;
    private TimeSpan _delay;

    internal RelayFaults(int seed) => _random = new Random(seed);

    /// <summary>Probability (0 to 1) that each delivery is dropped. Default 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 0 to 1.</exception>
    public double DropProbability
    {
        get => Read(() => _dropProbability);
        set => Write(() => _dropProbability = CheckProbability(value));
    }

    /// <summary>Probability (0 to 1) that each delivery is handed over twice. Default 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 0 to 1.</exception>
    public double DuplicateProbability
    {
        get => Read(() => _duplicateProbability);
        set => Write(() => _duplicateProbability = CheckProbability(value));
    }

    /// <summary>When <see langword="true"/>, each delivery round is shuffled. Default <see langword="false"/>.</summary>
    public bool Reorder
    {
        get => Read(() => _reorder);
        set => Write(() => _reorder = value);
    }

    /// <summary>How long every call and delivery round waits on the relay's <see cref="TimeProvider"/> first. Default zero.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Delay
    {
        get => Read(() => _delay);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Write(() => _delay = value);
        }
    }

    /// <summary>Drops the next <paramref name="count"/> deliveries.</summary>
    /// <param name="count">How many; at least 0.</param>
    public void DropNext(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Write(() => _dropNext = count);
    }

    /// <summary>Hands each of the next <paramref name="count"/> deliveries over twice.</summary>
    /// <param name="count">How many; at least 0.</param>
    public void DuplicateNext(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Write(() => _duplicateNext = count);
    }

    /// <summary>Makes the next <paramref name="count"/> calls from any device fail as if the relay were unreachable.</summary>
    /// <param name="count">How many; at least 0.</param>
    public void FailNextCalls(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Write(() => _failNext = count);
    }

    /// <summary>Cuts <paramref name="device"/> off: its calls fail and its receive streams stall until <see cref="Heal"/>.</summary>
    /// <param name="device">The device to cut off.</param>
    public void Partition(DeviceId device) => Write(() => _partitioned.Add(device));

    /// <summary>Ends a <see cref="Partition"/>.</summary>
    /// <param name="device">The device to reconnect.</param>
    public void Heal(DeviceId device) => Write(() => _partitioned.Remove(device));

    /// <summary>Removes every fault.</summary>
    public void Reset() => Write(() =>
    {
        _partitioned.Clear();
        _dropNext = _duplicateNext = _failNext = 0;
        _dropProbability = _duplicateProbability = 0;
        _reorder = false;
        _delay = TimeSpan.Zero;
    });

    /// <summary>Throws when a call from <paramref name="device"/> should fail now; consumes one injected failure.</summary>
    internal void ThrowIfCallFails(DeviceId device)
    {
        lock (_gate)
        {
            if (_partitioned.Contains(device))
            {
                throw new RelayRequestException(TelehealthErrorCode.RelayUnavailable, null, null, "The relay cannot be reached (partition injected).");
            }

            if (_failNext > 0)
            {
                _failNext--;
                throw new RelayRequestException(TelehealthErrorCode.RelayUnavailable, null, null, "The relay call failed (failure injected).");
            }
        }
    }

    /// <summary>Applies drop, duplicate and reorder to one delivery round.</summary>
    internal List<T> ShapeDeliveries<T>(IReadOnlyList<T> round)
    {
        lock (_gate)
        {
            var shaped = new List<T>(round.Count);
            foreach (T item in round)
            {
                if (_dropNext > 0)
                {
                    _dropNext--;
                    continue;
                }

                if (_dropProbability > 0 && _random.NextDouble() < _dropProbability)
                {
                    continue;
                }

                shaped.Add(item);
                if (_duplicateNext > 0)
                {
                    _duplicateNext--;
                    shaped.Add(item);
                }
                else if (_duplicateProbability > 0 && _random.NextDouble() < _duplicateProbability)
                {
                    shaped.Add(item);
                }
            }

            if (_reorder)
            {
                // Fisher–Yates with the seeded generator, so a seed reproduces the order.
                for (int i = shaped.Count - 1; i > 0; i--)
                {
                    int j = _random.Next(i + 1);
                    (shaped[i], shaped[j]) = (shaped[j], shaped[i]);
                }
            }

            return shaped;
        }
    }

    private static double CheckProbability(double value)
    {
        if (double.IsNaN(value) || value < 0 || value > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "A probability is between 0 and 1.");
        }

        return value;
    }

    private T Read<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    private void Write(Action write)
    {
        lock (_gate)
        {
            write();
        }
    }
}
