using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

/// <summary>
/// A seeded random network between devices with pairwise sessions: messages are sent, delivered out of order within a
/// window, dropped, delivered again (must be refused as duplicates), and devices restart from their serialized
/// sessions at random points. Every failure message names the seed and step so that the run can be reproduced.
/// </summary>
internal sealed class SessionSimulation : IDisposable
{
    /// <summary>Deliveries pick one of the first this-many messages in flight on a link: reordering stays within MaxSkip.</summary>
    private const int ReorderWindow = 8;

    /// <summary>Duplicates replay one of the last this-many messages a link delivered.</summary>
    private const int ReplayWindow = 8;

    private readonly int _seed;
    private readonly Random _random;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice[] _devices;
    private readonly Dictionary<(int From, int To), List<Sent>> _inFlight = [];
    private readonly Dictionary<(int From, int To), List<Sent>> _delivered = [];
    private readonly Dictionary<long, int> _decryptions = [];
    private readonly HashSet<long> _dropped = [];
    private long _nextId;
    private int _step;

    public SessionSimulation(int seed, int deviceCount, bool bothInitiate)
    {
        _seed = seed;
        _random = new Random(seed);
        _devices = Enumerable.Range(0, deviceCount).Select(i => new SessionTestDevice($"device{i}", _time)).ToArray();
        for (int i = 0; i < deviceCount; i++)
        {
            for (int j = i + 1; j < deviceCount; j++)
            {
                _devices[i].Initiate(_devices[j]);
                if (bothInitiate)
                {
                    _devices[j].Initiate(_devices[i]);
                }

                _inFlight[(i, j)] = [];
                _inFlight[(j, i)] = [];
                _delivered[(i, j)] = [];
                _delivered[(j, i)] = [];
            }
        }
    }

    public int Restarts { get; private set; }

    public int DuplicatesRefused { get; private set; }

    public int Dropped => _dropped.Count;

    /// <summary>Runs until <paramref name="messages"/> were sent, then delivers everything still in flight.</summary>
    public void Run(int messages)
    {
        while (_nextId < messages)
        {
            _step++;
            int roll = _random.Next(100);
            if (roll < 45)
            {
                SendRandom();
            }
            else if (roll < 85)
            {
                DeliverRandom(allowDrop: true);
            }
            else if (roll < 93)
            {
                ReplayRandom();
            }
            else if (roll < 96)
            {
                int device = _random.Next(_devices.Length);
                _devices[device].Restart();
                Restarts++;
            }
            else
            {
                _time.Advance(TimeSpan.FromMinutes(_random.Next(1, 120)));
            }
        }

        while (_inFlight.Values.Any(l => l.Count > 0))
        {
            _step++;
            DeliverRandom(allowDrop: false);
        }

        for (long id = 0; id < _nextId; id++)
        {
            int expected = _dropped.Contains(id) ? 0 : 1;
            _decryptions.TryGetValue(id, out int actual);
            Assert.True(actual == expected, $"seed {_seed}: message {id} decrypted {actual} times, expected {expected}");
        }
    }

    public void Dispose()
    {
        foreach (SessionTestDevice device in _devices)
        {
            device.Dispose();
        }
    }

    private void SendRandom()
    {
        int from = _random.Next(_devices.Length);
        int to = (from + 1 + _random.Next(_devices.Length - 1)) % _devices.Length;
        if (!_devices[from].SessionsWith(_devices[to]).HasActiveSession)
        {
            // A responder can only answer once the initiator's first message arrived.
            return;
        }

        long id = _nextId++;
        string text = $"{from}->{to} #{id} {new string('x', _random.Next(0, 40))}";
        _inFlight[(from, to)].Add(new Sent(id, text, _devices[from].Encrypt(_devices[to], text)));
    }

    private void DeliverRandom(bool allowDrop)
    {
        (int From, int To)[] busy = _inFlight.Where(kv => kv.Value.Count > 0).Select(kv => kv.Key).ToArray();
        if (busy.Length == 0)
        {
            return;
        }

        (int from, int to) = busy[_random.Next(busy.Length)];
        List<Sent> queue = _inFlight[(from, to)];
        int index = _random.Next(Math.Min(ReorderWindow, queue.Count));
        Sent message = queue[index];
        queue.RemoveAt(index);
        if (allowDrop && _random.Next(100) < 4)
        {
            _dropped.Add(message.Id);
            return;
        }

        string plaintext;
        try
        {
            plaintext = _devices[to].Decrypt(_devices[from], message.Bytes);
        }
        catch (CryptographicFailureException ex)
        {
            Assert.Fail($"seed {_seed}, step {_step}: message {message.Id} ({from}->{to}) was refused: {ex.Reason}");
            return;
        }

        Assert.True(plaintext == message.Text, $"seed {_seed}, step {_step}: message {message.Id} decrypted to other content");
        _decryptions[message.Id] = _decryptions.GetValueOrDefault(message.Id) + 1;
        _delivered[(from, to)].Add(message);
    }

    private void ReplayRandom()
    {
        (int From, int To)[] links = _delivered.Where(kv => kv.Value.Count > 0).Select(kv => kv.Key).ToArray();
        if (links.Length == 0)
        {
            return;
        }

        (int from, int to) = links[_random.Next(links.Length)];
        List<Sent> delivered = _delivered[(from, to)];
        Sent message = delivered[delivered.Count - 1 - _random.Next(Math.Min(ReplayWindow, delivered.Count))];
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => _devices[to].Decrypt(_devices[from], message.Bytes));
        Assert.True(ex.Reason == CryptographicFailureReason.DuplicateMessage, $"seed {_seed}, step {_step}: replay of message {message.Id} refused as {ex.Reason}");
        DuplicatesRefused++;
    }

    private sealed record Sent(long Id, string Text, byte[] Bytes)
    {
        public override string ToString() => $"Sent({Id})";
    }
}
