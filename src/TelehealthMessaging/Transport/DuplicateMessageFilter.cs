namespace TelehealthMessaging.Transport;

/// <summary>
/// Turns at-least-once delivery into exactly-once processing: remembers the ids of recently accepted messages and
/// refuses them a second time. Thread-safe.
/// </summary>
/// <remarks>
/// The set is bounded: once <see cref="Capacity"/> ids are held, the oldest accepted id is forgotten first. A duplicate
/// can only arrive while its original is unacknowledged or soon after (the relay refuses resubmissions of ids
/// acknowledged within its time-to-live), so the capacity should exceed the number of messages a device can receive
/// before acknowledging them. The set lives in memory; the client persists it with its other state.
/// </remarks>
public sealed class DuplicateMessageFilter
{
    private readonly object _gate = new();
    private readonly HashSet<MessageId> _seen = [];
    private readonly Queue<MessageId> _order = new();

    /// <summary>Creates a filter.</summary>
    /// <param name="capacity">How many ids to remember; at least 1. Default 10,000.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public DuplicateMessageFilter(int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>How many ids the filter remembers.</summary>
    public int Capacity { get; }

    /// <summary>How many ids the filter currently remembers.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>Accepts an id the first time it is seen.</summary>
    /// <param name="id">The message id.</param>
    /// <returns><see langword="true"/> the first time; <see langword="false"/> for a duplicate.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public bool TryAccept(MessageId id)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The message id is the default value.", nameof(id));
        }

        lock (_gate)
        {
            if (!_seen.Add(id))
            {
                return false;
            }

            _order.Enqueue(id);
            if (_order.Count > Capacity)
            {
                _seen.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>Tells whether an id is remembered, without accepting it.</summary>
    /// <param name="id">The message id.</param>
    /// <returns><see langword="true"/> when the id was accepted and not yet forgotten.</returns>
    public bool Contains(MessageId id)
    {
        lock (_gate)
        {
            return _seen.Contains(id);
        }
    }
}
