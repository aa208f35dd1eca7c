using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// A device's envelope keys: the current X25519 key it publishes for sealed envelopes, and replaced keys kept for a
/// grace period so envelopes sealed to them while in flight still open.
/// </summary>
/// <remarks>
/// Envelope keys rotate independently of the identity and of the prekeys. The cleartext envelope header names no key,
/// so <see cref="Candidates"/> lists every key still held, newest first, and the recipient tries them in turn.
/// </remarks>
internal sealed class DeviceEnvelopeKeys : IDisposable
{
    private const byte ExportVersion = 1;

    /// <summary>Keys held at once: the current one plus replaced ones in their grace period.</summary>
    private const int MaxStoredKeys = 64;

    private readonly DeviceIdentity _identity;
    private readonly DeviceId _device;
    private readonly TimeSpan _rotationInterval;
    private readonly TimeSpan _gracePeriod;
    private readonly TimeProvider _timeProvider;

    // Oldest first; the last entry is current.
    private readonly List<Entry> _keys = [];
    private uint _nextId = 1;

    private DeviceEnvelopeKeys(DeviceIdentity identity, DeviceId device, TimeSpan rotationInterval, TimeSpan gracePeriod, TimeProvider timeProvider)
    {
        _identity = identity;
        _device = device;
        _rotationInterval = rotationInterval;
        _gracePeriod = gracePeriod;
        _timeProvider = timeProvider;
    }

    /// <summary>The envelope key to publish now.</summary>
    public SignedEnvelopeKey Current => _keys[^1].Public;

    /// <summary>The number of keys held, current included.</summary>
    public int Count => _keys.Count;

    /// <summary>Every private key still held, newest first: the order in which a recipient tries them.</summary>
    internal IEnumerable<X25519PrivateKey> Candidates => Enumerable.Range(0, _keys.Count).Select(i => _keys[_keys.Count - 1 - i].Key);

    public static DeviceEnvelopeKeys Create(DeviceIdentity identity, DeviceId device, TimeSpan rotationInterval, TimeSpan gracePeriod, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var keys = new DeviceEnvelopeKeys(identity, device, rotationInterval, gracePeriod, timeProvider);
        keys.Refresh();
        return keys;
    }

    /// <summary>
    /// Replaces the current key once it is older than the rotation interval and deletes replaced keys whose grace period
    /// has passed. Returns <see langword="true"/> when the published key changed or a key was deleted (store again).
    /// </summary>
    public bool Refresh()
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        bool changed = false;
        if (_keys.Count == 0 || now - _keys[^1].CreatedAt >= _rotationInterval)
        {
            if (_keys.Count > 0)
            {
                _keys[^1].ReplacedAt = now;
            }

            X25519PrivateKey key = X25519PrivateKey.Generate();
            uint id = _nextId == uint.MaxValue
                ? throw new InvalidOperationException("This device has used every envelope key id; generate a new device identity.")
                : _nextId++;
            _keys.Add(new Entry(SignedEnvelopeKey.Create(_identity, _device, id, (ulong)Math.Max(0, now.ToUnixTimeSeconds()), key.PublicKey), key, now));
            changed = true;
        }

        for (int i = _keys.Count - 2; i >= 0; i--)
        {
            if (_keys[i].ReplacedAt is DateTimeOffset replaced && now - replaced >= _gracePeriod)
            {
                _keys[i].Key.Dispose();
                _keys.RemoveAt(i);
                changed = true;
            }
        }

        // A rotation interval shorter than the grace period could pile keys up; the oldest go first.
        while (_keys.Count > MaxStoredKeys)
        {
            _keys[0].Key.Dispose();
            _keys.RemoveAt(0);
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// version ‖ u32 next id ‖ u8 count ‖ entries, oldest first: signed key ‖ private key (32) ‖ u64 created (Unix ms) ‖
    /// u8 replaced ‖ [u64 replaced at (Unix ms)]. Contains secrets: store it encrypted.
    /// </summary>
    public byte[] Export()
    {
        var writer = new WireWriter(16 + (_keys.Count * 200));
        writer.WriteUInt8(ExportVersion).WriteUInt32(_nextId).WriteUInt8((byte)_keys.Count);
        byte[] privateKey = new byte[X25519PrivateKey.KeySize];
        try
        {
            foreach (Entry entry in _keys)
            {
                entry.Public.Write(writer);
                entry.Key.Export(privateKey);
                writer.WriteFixed(privateKey).WriteUInt64((ulong)entry.CreatedAt.ToUnixTimeMilliseconds());
                if (entry.ReplacedAt is DateTimeOffset replaced)
                {
                    writer.WriteUInt8(1).WriteUInt64((ulong)replaced.ToUnixTimeMilliseconds());
                }
                else
                {
                    writer.WriteUInt8(0);
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }

        return writer.ToArray();
    }

    /// <summary>
    /// Restores what <see cref="Export"/> wrote, strictly: unknown version, truncation, a count of 0 or over the limit,
    /// repeated ids or ids at or above the stored counter, a signature that is not this device's, a private key that
    /// does not match its public key and trailing bytes are refused with <see cref="CryptographicFailureException"/>.
    /// </summary>
    public static DeviceEnvelopeKeys Import(ReadOnlySpan<byte> exported, DeviceIdentity identity, DeviceId device, TimeSpan rotationInterval, TimeSpan gracePeriod, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var reader = new WireReader(exported);
        byte version = reader.ReadUInt8("envelopeKeys.version");
        if (version != ExportVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Stored envelope keys version {version} is not supported.");
        }

        var keys = new DeviceEnvelopeKeys(identity, device, rotationInterval, gracePeriod, timeProvider) { _nextId = reader.ReadUInt32("envelopeKeys.nextId") };
        try
        {
            int count = reader.ReadUInt8("envelopeKeys.count");
            if (count is 0 or > MaxStoredKeys)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"envelopeKeys.count must be 1 to {MaxStoredKeys}.");
            }

            var ids = new HashSet<uint>();
            for (int i = 0; i < count; i++)
            {
                SignedEnvelopeKey signed = SignedEnvelopeKey.Read(ref reader, "envelopeKeys.key");
                signed.Verify(identity.PublicKey, device);
                X25519PrivateKey key = X25519PrivateKey.Import(reader.ReadFixed(X25519PrivateKey.KeySize, "envelopeKeys.privateKey"));
                var entry = new Entry(signed, key, FromUnixMilliseconds(reader.ReadUInt64("envelopeKeys.createdAt")));
                keys._keys.Add(entry);
                if (!key.PublicKey.SequenceEqual(signed.PublicKey))
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.InvalidPrivateKey, "A stored envelope private key does not match its public key.");
                }

                if (!ids.Add(signed.Id) || signed.Id >= keys._nextId)
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "Stored envelope key ids repeat or are not below the stored next id.");
                }

                entry.ReplacedAt = reader.ReadUInt8("envelopeKeys.hasReplacedAt") switch
                {
                    0 => null,
                    1 => FromUnixMilliseconds(reader.ReadUInt64("envelopeKeys.replacedAt")),
                    _ => throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "envelopeKeys.hasReplacedAt must be 0 or 1."),
                };
            }

            reader.EnsureEnd();
            return keys;
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (Entry entry in _keys)
        {
            entry.Key.Dispose();
        }
    }

    public override string ToString() => $"DeviceEnvelopeKeys(current {(_keys.Count == 0 ? "none" : Current.Id)}, {_keys.Count} held)";

    private static DateTimeOffset FromUnixMilliseconds(ulong value)
    {
        if (value > (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A stored envelope key timestamp is out of range.");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)value);
    }

    private sealed class Entry(SignedEnvelopeKey publicKey, X25519PrivateKey key, DateTimeOffset createdAt)
    {
        public SignedEnvelopeKey Public { get; } = publicKey;

        public X25519PrivateKey Key { get; } = key;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset? ReplacedAt { get; set; }

        public override string ToString() => $"Entry({Public.Id})";
    }
}
