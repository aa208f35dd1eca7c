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
/// an optimisation, never the record: envelopes stay in the store until acknowledged, and a session that sees a gap in
/// the cursors, or whose hand-over queue overflowed, reads the store instead.
/// </remarks>
internal sealed class MailboxSignal
{
    private readonly Dictionary<string, List<MailboxSubscription>> _subscriptions = new(StringComparer.Ordinal);
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

    private MailboxSubscription[] SubscriptionsOf(string mailbox)
    {
        lock (_gate)
        {
            return _subscriptions.TryGetValue(mailbox, out List<MailboxSubscription>? list) ? [.. list] : [];
        }
    }
}

/// <summary>One session's queue of handed envelopes and its wake-up.</summary>
internal sealed class MailboxSubscription : IDisposable
{
    // A session that falls this far behind reads its mailbox instead; the relay's memory stays bounded per connection.
    internal const int MaxHanded = 512;

    private readonly MailboxSignal _signal;
    private readonly Lock _gate = new();
    private List<RelayPendingEnvelope> _handed = [];
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
            if (_closed || _readStore || _handed.Count > 0)
            {
                return Task.CompletedTask;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiter.Task;
        }
    }

    /// <summary>Takes what was handed, in cursor order; returns whether the session must read its mailbox as well.</summary>
    public bool Take(out List<RelayPendingEnvelope> handed)
    {
        lock (_gate)
        {
            handed = _handed;
            _handed = [];
            bool readStore = _readStore;
            _readStore = false;
            // Two submissions committed together may be handed over in either order.
            handed.Sort(static (a, b) => a.Cursor.CompareTo(b.Cursor));
            return readStore;
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
        _waiter?.TrySetResult();
        _waiter = null;
    }
}
