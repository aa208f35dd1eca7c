using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Delivery;

/// <summary>
/// Connects submissions to this instance's WebSocket sessions. Envelopes stored by this instance are handed to the
/// recipient's sessions as they are (<see cref="Publish"/>), so a session pushes them without reading its mailbox back;
/// a wake-up without envelopes (<see cref="Notify"/>: on PostgreSQL, another instance stored something) makes the
/// session read its mailbox.
/// </summary>
/// <remarks>
/// A session subscribes BEFORE its first mailbox read, so nothing committed after that read is missed. Handing over is
/// an optimisation, never the record: envelopes stay in the store until acknowledged, and a session whose hand-over
/// queue overflowed, or that sees a gap in the cursors no submission under way on this instance can still fill, reads
/// the store instead. Submissions committed together are answered on different threads, so their hand-overs arrive in
/// any order: a gap while a submission to the mailbox is under way (<see cref="BeginSubmission"/>) is waited out, not
/// read from the store (on PostgreSQL's large groups, reading it back was 40 % of all deliveries at full load).
/// </remarks>
internal sealed class MailboxSignal
{
    private readonly Dictionary<string, List<MailboxSubscription>> _subscriptions = new(StringComparer.Ordinal);
    // Per mailbox: envelopes of submissions under way on this instance (stored or not yet, not yet handed over).
    private readonly Dictionary<string, int> _submitting = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public MailboxSubscription Subscribe(DeviceId mailbox)
    {
        var subscription = new MailboxSubscription(this, mailbox.Value);
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue(mailbox.Value, out List<MailboxSubscription>? list))
            {
                _subscriptions[mailbox.Value] = list = [];
            }

            list.Add(subscription);
        }

        return subscription;
    }

    /// <summary>
    /// Marks a submission of <paramref name="envelopes"/> as under way on this instance: until the matching
    /// <see cref="EndSubmission"/>, a session of a recipient that sees a gap waits for the hand-over instead of reading
    /// its mailbox. Call <see cref="EndSubmission"/> with the same envelopes whatever the submission's outcome.
    /// </summary>
    public void BeginSubmission(IReadOnlyList<RelayEnvelope> envelopes)
    {
        lock (_gate)
        {
            foreach (RelayEnvelope envelope in envelopes)
            {
                _submitting[envelope.Recipient.Value] = _submitting.GetValueOrDefault(envelope.Recipient.Value) + 1;
            }
        }
    }

    /// <summary>
    /// Ends what <see cref="BeginSubmission"/> began, after the submission's envelopes were handed over (or its outcome
    /// is known to have stored nothing, or a <see cref="Notify"/> was sent). Sessions holding a gap in a mailbox that
    /// has no submission under way any more are woken to read it.
    /// </summary>
    public void EndSubmission(IReadOnlyList<RelayEnvelope> envelopes)
    {
        List<string>? idle = null;
        lock (_gate)
        {
            foreach (RelayEnvelope envelope in envelopes)
            {
                string mailbox = envelope.Recipient.Value;
                int left = _submitting[mailbox] - 1;
                if (left > 0)
                {
                    _submitting[mailbox] = left;
                }
                else if (_submitting.Remove(mailbox))
                {
                    (idle ??= []).Add(mailbox);
                }
            }
        }

        foreach (string mailbox in idle ?? [])
        {
            foreach (MailboxSubscription subscription in SubscriptionsOf(mailbox))
            {
                subscription.Poke();
            }
        }
    }

    /// <summary>Hands envelopes this instance has just committed to the mailbox's sessions.</summary>
    public void Publish(DeviceId mailbox, IReadOnlyList<RelayPendingEnvelope> envelopes)
    {
        foreach (MailboxSubscription subscription in SubscriptionsOf(mailbox.Value))
        {
            subscription.Hand(envelopes);
        }
    }

    /// <summary>Tells the mailbox's sessions that it may hold envelopes they were not handed.</summary>
    public void Notify(string mailbox)
    {
        foreach (MailboxSubscription subscription in SubscriptionsOf(mailbox))
        {
            subscription.ReadStore();
        }
    }

    /// <summary>Ends the mailbox's sessions: its device was revoked, and a revoked device must not keep a connection.</summary>
    public void Close(string mailbox)
    {
        foreach (MailboxSubscription subscription in SubscriptionsOf(mailbox))
        {
            subscription.Close();
        }
    }

    /// <summary>Wakes every session to read its mailbox, for when notifications may have been lost (the listener reconnected).</summary>
    public void NotifyAll()
    {
        List<MailboxSubscription> all;
        lock (_gate)
        {
            all = _subscriptions.Values.SelectMany(list => list).ToList();
        }

        foreach (MailboxSubscription subscription in all)
        {
            subscription.ReadStore();
        }
    }

    internal void Remove(MailboxSubscription subscription)
    {
        lock (_gate)
        {
            if (_subscriptions.TryGetValue(subscription.Mailbox, out List<MailboxSubscription>? list) && list.Remove(subscription) && list.Count == 0)
            {
                _subscriptions.Remove(subscription.Mailbox);
            }
        }
    }

    /// <summary>Whether a submission to the mailbox is under way on this instance.</summary>
    internal bool IsSubmitting(string mailbox)
    {
        lock (_gate)
        {
            return _submitting.ContainsKey(mailbox);
        }
    }

    private MailboxSubscription[] SubscriptionsOf(string mailbox)
    {
        lock (_gate)
        {
            return _subscriptions.TryGetValue(mailbox, out List<MailboxSubscription>? list) ? [.. list] : [];
        }
    }
}

/// <summary>One session's queue of handed envelopes and its wake-up.</summary>
/// <remarks>
/// Lock order: a subscription's lock may be held while the signal's is taken (<see cref="Take"/> asks whether the
/// mailbox has a submission under way), never the other way round: the signal copies its subscriber list and releases
/// its lock before it calls into a subscription.
/// </remarks>
internal sealed class MailboxSubscription : IDisposable
{
    // A session that falls this far behind reads its mailbox instead; the relay's memory stays bounded per connection.
    internal const int MaxHanded = 512;

    private readonly MailboxSignal _signal;
    private readonly Lock _gate = new();
    // Handed over and not yet taken, plus those taken early and kept (beyond a gap that a submission may still fill).
    private readonly List<RelayPendingEnvelope> _handed = [];
    // Something happened since the last Take: envelopes handed, a read asked for, the mailbox closed, or its last
    // submission under way ended. Held envelopes alone do not wake the session.
    private bool _woken;
    private bool _readStore;
    private bool _closed;
    private TaskCompletionSource? _waiter;

    internal MailboxSubscription(MailboxSignal signal, string mailbox)
    {
        _signal = signal;
        Mailbox = mailbox;
    }

    internal string Mailbox { get; }

    /// <summary>Whether the device was revoked; the session must close its socket.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Completes when envelopes were handed, the store should be read, or the subscription was closed.</summary>
    public Task WaitAsync()
    {
        lock (_gate)
        {
            if (_closed || _woken)
            {
                return Task.CompletedTask;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiter.Task;
        }
    }

    /// <summary>
    /// Takes the handed envelopes that follow <paramref name="cursor"/> without a gap, in cursor order; returns whether
    /// the session must read its mailbox (after <paramref name="cursor"/>) as well.
    /// </summary>
    /// <remarks>
    /// Envelopes beyond a gap are kept while a submission to this mailbox is under way on this instance: it is the
    /// one that will hand over the missing cursors (submissions committed together are answered in any order). With
    /// none under way the gap was committed elsewhere (another instance, whose notification reads the store anyway) or
    /// never handed over, and the store has it.
    /// </remarks>
    public bool Take(long cursor, out List<RelayPendingEnvelope> next)
    {
        lock (_gate)
        {
            _woken = false;
            next = [];
            if (_readStore)
            {
                // The mailbox read returns the handed envelopes too.
                _readStore = false;
                _handed.Clear();
                return true;
            }

            // Two submissions committed together may be handed over in either order.
            _handed.Sort(static (a, b) => a.Cursor.CompareTo(b.Cursor));
            int used = 0;
            for (; used < _handed.Count; used++)
            {
                RelayPendingEnvelope envelope = _handed[used];
                if (envelope.Cursor > cursor + 1)
                {
                    break;
                }

                if (envelope.Cursor == cursor + 1)
                {
                    next.Add(envelope);
                    cursor++;
                }

                // Otherwise already pushed by a mailbox read.
            }

            _handed.RemoveRange(0, used);
            if (_handed.Count == 0 || _signal.IsSubmitting(Mailbox))
            {
                return false;
            }

            _handed.Clear();
            return true;
        }
    }

    public void Dispose() => _signal.Remove(this);

    internal void Hand(IReadOnlyList<RelayPendingEnvelope> envelopes)
    {
        lock (_gate)
        {
            if (!_readStore)
            {
                if (_handed.Count + envelopes.Count > MaxHanded)
                {
                    _handed.Clear();
                    _readStore = true;
                }
                else
                {
                    _handed.AddRange(envelopes);
                }
            }

            WakeLocked();
        }
    }

    /// <summary>Wakes the session to look at what it holds again: the mailbox's last submission under way ended.</summary>
    internal void Poke()
    {
        lock (_gate)
        {
            if (_handed.Count > 0)
            {
                WakeLocked();
            }
        }
    }

    internal void Close()
    {
        lock (_gate)
        {
            _handed.Clear();
            _closed = true;
            WakeLocked();
        }
    }

    internal void ReadStore()
    {
        lock (_gate)
        {
            // The mailbox read returns the handed envelopes too.
            _handed.Clear();
            _readStore = true;
            WakeLocked();
        }
    }

    private void WakeLocked()
    {
        _woken = true;
        _waiter?.TrySetResult();
        _waiter = null;
    }
}
