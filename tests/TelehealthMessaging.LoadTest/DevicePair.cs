using TelehealthMessaging.Transport;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// One sender and its recipient, with the recipient-side bookkeeping. <see cref="OnReceived"/> runs on the
/// recipient's single receive loop, so its fields need no lock; the controller reads them after the run.
/// </summary>
internal sealed class DevicePair(int index, long measureStart, long measureEnd)
{
    private readonly HashSet<MessageId> _seen = [];
    private readonly DuplicateMessageFilter _filter = new();
    private long _sent;
    private long _unique;

    public int Index { get; } = index;

    public LoadDevice Sender { get; } = new();

    public LoadDevice Recipient { get; } = new();

    /// <summary>Closed-loop mode only: one credit per envelope in flight; a first delivery returns it.</summary>
    public SemaphoreSlim? Credits { get; set; }

    /// <summary>Envelopes the server confirmed it accepted.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Distinct envelopes the recipient got.</summary>
    public long Unique => Interlocked.Read(ref _unique);

    /// <summary>First deliveries whose receive time lies in the measured window.</summary>
    public long DeliveredInWindow { get; private set; }

    /// <summary>Deliveries of an envelope the recipient already had (the transport's at-least-once).</summary>
    public long TransportDuplicates { get; private set; }

    /// <summary>Deliveries the <see cref="DuplicateMessageFilter"/> let through although the application had the envelope.</summary>
    public long DuplicatedToApp { get; private set; }

    /// <summary>New envelopes the filter wrongly held back: lost to the application.</summary>
    public long WronglyFiltered { get; private set; }

    /// <summary>Stopwatch ticks from scheduled send to delivery, for envelopes scheduled in the measured window.</summary>
    public List<long> Latencies { get; } = [];

    /// <summary>The scheduled send time of each entry of <see cref="Latencies"/>, in the same order.</summary>
    public List<long> Scheduled { get; } = [];

    /// <summary>
    /// Rate mode: Stopwatch ticks from an envelope's scheduled time to when the pacing thread reached it, for envelopes
    /// scheduled in the measured window: the generator's own lateness, included in every latency above.
    /// </summary>
    public List<long> SendLateness { get; } = [];

    public long MeasureStart { get; set; } = measureStart;

    public long MeasureEnd { get; set; } = measureEnd;

    public void AddSent(int count) => Interlocked.Add(ref _sent, count);

    public void OnReceived(MessageId id, ReadOnlySpan<byte> data, long now)
    {
        bool first = _seen.Add(id);
        bool accepted = _filter.TryAccept(id);
        if (!first)
        {
            TransportDuplicates++;
            if (accepted)
            {
                DuplicatedToApp++;
            }

            return;
        }

        if (!accepted)
        {
            WronglyFiltered++;
        }

        Interlocked.Increment(ref _unique);
        Credits?.Release();
        if (now >= MeasureStart && now < MeasureEnd)
        {
            DeliveredInWindow++;
        }

        long scheduled = LoadDevice.TimestampOf(data);
        if (scheduled >= MeasureStart && scheduled < MeasureEnd)
        {
            Latencies.Add(now - scheduled);
            Scheduled.Add(scheduled);
        }
    }
}
