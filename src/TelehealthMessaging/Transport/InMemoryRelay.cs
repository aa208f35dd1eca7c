using System.Collections.Concurrent;
using System.Globalization;

namespace TelehealthMessaging.Transport;

/// <summary>
/// A relay in process memory with the real relay's delivery semantics, for tests of code that uses an
/// <see cref="IRelayTransport"/>: per-mailbox cursors in store order, idempotent ids, acknowledgement deletes, a device
/// reads only its own mailbox, the same limits and problem codes. <see cref="Faults"/> injects network faults.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Differences from the real relay: no request signatures, no rate limit, and nothing is persisted. Devices get a
/// mailbox either with <see cref="AddDevice"/> (no keys) or by registering through the relay directory, which holds
/// the same keys, rosters, work-item claims and blobs as the real relay and checks the same key signatures and
/// ownership rules (clinic joins are always allowed: the real relay asks its host's authorizer). Reach it through <see cref="Connect"/>, or register it under a name with <see cref="Register"/>
/// and create transports for <c>memory://name</c> with <see cref="RelayTransport.Create"/>.
/// </remarks>
public sealed partial class InMemoryRelay
{
    /// <summary>Most envelopes per submission, as the relay's default.</summary>
    public const int MaxBatchEnvelopes = 100;

    /// <summary>Largest envelope in bytes, as the relay's default.</summary>
    public const int MaxEnvelopeBytes = 262_144;

    /// <summary>Most envelopes per delivery round and ids per acknowledgement, as the relay's default.</summary>
    public const int MaxFetchEnvelopes = 100;

    private static readonly ConcurrentDictionary<string, InMemoryRelay> Registry = new(StringComparer.OrdinalIgnoreCase);

    private readonly object _gate = new();
    private readonly Dictionary<DeviceId, Mailbox> _mailboxes = [];
    private TimeSpan _redeliveryInterval = TimeSpan.FromSeconds(1);
    private int _maxPendingPerMailbox = 10_000;

    /// <summary>Creates an empty relay.</summary>
    /// <param name="timeProvider">The clock for delays, redelivery and expiry; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="seed">Seeds the random faults, so a test is reproducible. Default 0.</param>
    public InMemoryRelay(TimeProvider? timeProvider = null, int seed = 0)
    {
        TimeProvider = timeProvider ?? TimeProvider.System;
        Faults = new RelayFaults(seed);
    }

    /// <summary>The clock for delays, redelivery and expiry.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The faults to inject; none by default.</summary>
    public RelayFaults Faults { get; }

    /// <summary>How long envelopes and the ids of acknowledged envelopes are kept. Default 30 days, as the relay's.</summary>
    public TimeSpan EnvelopeTimeToLive { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How often a receive stream looks again for envelopes it has not handed over (dropped by a fault) and retries
    /// after a partition. Default 1 second; at least 1 millisecond.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1 millisecond.</exception>
    public TimeSpan RedeliveryInterval
    {
        get => _redeliveryInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(1));
            _redeliveryInterval = value;
        }
    }

    /// <summary>Most pending envelopes per mailbox; a batch that would exceed it is refused with <c>mailbox_full</c>. Default 10,000.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxPendingPerMailbox
    {
        get => _maxPendingPerMailbox;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxPendingPerMailbox = value;
        }
    }

    /// <summary>Makes <paramref name="relay"/> reachable as <c>memory://<paramref name="name"/></c>.</summary>
    /// <param name="name">A host name: letters, digits, <c>-</c> and <c>.</c>; compared case-insensitively.</param>
    /// <param name="relay">The relay.</param>
    /// <exception cref="ArgumentException">The name is not a valid host name or is already registered.</exception>
    public static void Register(string name, InMemoryRelay relay)
    {
        ArgumentNullException.ThrowIfNull(relay);
        if (string.IsNullOrEmpty(name) || Uri.CheckHostName(name) != UriHostNameType.Dns)
        {
            throw new ArgumentException("The relay name must be a host name.", nameof(name));
        }

        if (!Registry.TryAdd(name, relay))
        {
            throw new ArgumentException("A relay is already registered under this name.", nameof(name));
        }
    }

    /// <summary>Removes a registration made by <see cref="Register"/>.</summary>
    /// <param name="name">The name it was registered under.</param>
    /// <returns><see langword="true"/> when a relay was registered under the name.</returns>
    public static bool Unregister(string name) => name is not null && Registry.TryRemove(name, out _);

    /// <summary>Adds a device's mailbox; envelopes to devices not added are refused with <c>unknown_recipient</c>.</summary>
    /// <param name="device">The device. Adding it again changes nothing.</param>
    /// <exception cref="ArgumentException"><paramref name="device"/> is the default value.</exception>
    public void AddDevice(DeviceId device)
    {
        if (device.Value is null)
        {
            throw new ArgumentException("The device id is the default value.", nameof(device));
        }

        lock (_gate)
        {
            _mailboxes.TryAdd(device, new Mailbox());
        }
    }

    /// <summary>Creates a transport through which <paramref name="device"/> reaches this relay.</summary>
    /// <param name="device">The device the transport acts as; it must have been added.</param>
    /// <returns>A new transport; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The device has not been added.</exception>
    public IRelayTransport Connect(DeviceId device)
    {
        lock (_gate)
        {
            if (device.Value is null || !_mailboxes.ContainsKey(device))
            {
                throw new ArgumentException("The device has not been added to the relay.", nameof(device));
            }
        }

        return new InMemoryRelayTransport(this, device);
    }

    /// <summary>How many envelopes wait in <paramref name="device"/>'s mailbox (for test assertions).</summary>
    /// <param name="device">The device.</param>
    /// <returns>The number of unacknowledged, unexpired envelopes; 0 for an unknown device.</returns>
    public int PendingCount(DeviceId device)
    {
        lock (_gate)
        {
            if (!_mailboxes.TryGetValue(device, out Mailbox? mailbox))
            {
                return 0;
            }

            mailbox.Expire(TimeProvider.GetUtcNow());
            return mailbox.Pending.Count;
        }
    }

    internal static InMemoryRelay? Find(string name) => Registry.TryGetValue(name, out InMemoryRelay? relay) ? relay : null;

    internal void Submit(IReadOnlyList<OutgoingEnvelope> batch)
    {
        if (batch.Count > MaxBatchEnvelopes)
        {
            throw Refused(413, "too_large", "The batch holds too many envelopes.");
        }

        for (int i = 0; i < batch.Count; i++)
        {
            OutgoingEnvelope envelope = batch[i] ?? throw new ArgumentException("The batch holds a null envelope.", nameof(batch));
            string field = "envelopes[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (envelope.Data.Length > MaxEnvelopeBytes)
            {
                throw Refused(413, "too_large", $"{field} is too large.");
            }

            if (!SealedEnvelopeHeader.TryParse(envelope.Data.Span, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error))
            {
                throw error == SealedEnvelopeHeaderError.UnknownVersion
                    ? Refused(400, "unknown_envelope_version", $"{field} has an unknown format version.")
                    : Refused(400, "invalid_envelope", $"{field} is not a well-formed sealed envelope ({error}).");
            }

            if (header.Recipient != envelope.Recipient)
            {
                throw Refused(400, "recipient_mismatch", $"{field}'s sealed header names another recipient.");
            }
        }

        DateTimeOffset now = TimeProvider.GetUtcNow();
        var woken = new List<Mailbox>();
        lock (_gate)
        {
            // Check everything first: a batch is stored whole or not at all.
            var added = new Dictionary<DeviceId, int>();
            var seenInBatch = new HashSet<(DeviceId, MessageId)>();
            foreach (OutgoingEnvelope envelope in batch)
            {
                if (!_mailboxes.TryGetValue(envelope.Recipient, out Mailbox? mailbox))
                {
                    throw Refused(404, "unknown_recipient", "A recipient device is not registered; nothing was stored.");
                }

                mailbox.Expire(now);
                if (mailbox.Knows(envelope.Id) || !seenInBatch.Add((envelope.Recipient, envelope.Id)))
                {
                    continue;
                }

                int count = added.GetValueOrDefault(envelope.Recipient) + 1;
                added[envelope.Recipient] = count;
                if (mailbox.Pending.Count + count > MaxPendingPerMailbox)
                {
                    throw new RelayRequestException(TelehealthErrorCode.RateLimited, "mailbox_full", 429, "A recipient's mailbox is full; nothing was stored.", TimeSpan.FromSeconds(60));
                }
            }

            foreach (OutgoingEnvelope envelope in batch)
            {
                Mailbox mailbox = _mailboxes[envelope.Recipient];
                if (mailbox.Knows(envelope.Id))
                {
                    continue;
                }

                mailbox.Store(envelope.Id, envelope.Data.ToArray(), now + EnvelopeTimeToLive);
                if (!woken.Contains(mailbox))
                {
                    woken.Add(mailbox);
                }
            }
        }

        foreach (Mailbox mailbox in woken)
        {
            mailbox.Wake();
        }
    }

    /// <summary>The pending envelopes after <paramref name="after"/>, and a task that completes when more arrive.</summary>
    internal (List<IncomingEnvelope> Pending, Task Arrival) Fetch(DeviceId device, RelayCursor after)
    {
        lock (_gate)
        {
            Mailbox mailbox = MailboxOf(device);
            mailbox.Expire(TimeProvider.GetUtcNow());
            var pending = mailbox.Pending.Values
                .Where(e => e.Cursor.Value > after.Value)
                .Select(e => new IncomingEnvelope(e.Cursor, e.Id, e.Data))
                .ToList();
            return (pending, mailbox.Arrival);
        }
    }

    internal int Acknowledge(DeviceId device, IReadOnlyList<MessageId> ids)
    {
        DateTimeOffset now = TimeProvider.GetUtcNow();
        lock (_gate)
        {
            Mailbox mailbox = MailboxOf(device);
            int deleted = 0;
            foreach (MessageId id in ids)
            {
                if (mailbox.Acknowledge(id, now + EnvelopeTimeToLive))
                {
                    deleted++;
                }
            }

            return deleted;
        }
    }

    // A revoked device's mailbox is gone: its open streams and calls are refused as the relay refuses its requests.
    private Mailbox MailboxOf(DeviceId device) =>
        _mailboxes.TryGetValue(device, out Mailbox? mailbox) ? mailbox : throw Refused(401, "unknown_device", "The device is not registered (or was revoked).");

    private static RelayRequestException Refused(int status, string code, string message) =>
        new(TelehealthErrorCode.RelayRejected, code, status, message);

    private sealed record StoredEnvelope(RelayCursor Cursor, MessageId Id, byte[] Data, DateTimeOffset Expires);

    private sealed class Mailbox
    {
        private readonly Dictionary<MessageId, DateTimeOffset> _delivered = [];
        private TaskCompletionSource _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _lastCursor;

        /// <summary>Pending envelopes by cursor, so that enumeration is in store order.</summary>
        public SortedDictionary<long, StoredEnvelope> Pending { get; } = [];

        public Task Arrival => _arrival.Task;

        public bool Knows(MessageId id) => _delivered.ContainsKey(id) || Pending.Values.Any(e => e.Id == id);

        public void Store(MessageId id, byte[] data, DateTimeOffset expires)
        {
            _lastCursor++;
            Pending.Add(_lastCursor, new StoredEnvelope(new RelayCursor(_lastCursor), id, data, expires));
        }

        public bool Acknowledge(MessageId id, DateTimeOffset rememberUntil)
        {
            StoredEnvelope? stored = Pending.Values.FirstOrDefault(e => e.Id == id);
            if (stored is null)
            {
                return false;
            }

            Pending.Remove(stored.Cursor.Value);
            _delivered[id] = rememberUntil;
            return true;
        }

        public void Expire(DateTimeOffset now)
        {
            foreach (long cursor in Pending.Where(p => p.Value.Expires <= now).Select(p => p.Key).ToList())
            {
                Pending.Remove(cursor);
            }

            foreach (MessageId id in _delivered.Where(d => d.Value <= now).Select(d => d.Key).ToList())
            {
                _delivered.Remove(id);
            }
        }

        /// <summary>Completes the current arrival task and starts a new one; called outside the relay's lock.</summary>
        public void Wake() => Interlocked.Exchange(ref _arrival, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
