namespace TelehealthMessaging.Crypto;

/// <summary>
/// The private halves of a device's prekeys and the policy that rotates and refills them (see <see cref="PrekeyOptions"/>).
/// </summary>
/// <remarks>
/// Holds one current signed X25519 prekey plus replaced ones inside their grace period, a batch of one-time X25519
/// prekeys, a batch of one-time ML-KEM-768 prekeys and a current last-resort ML-KEM-768 prekey (plus replaced ones in
/// their grace period). One-time prekeys are deleted only by <see cref="ConsumeOneTimePrekeys"/>, which session setup
/// calls after the first message decrypted.
/// </remarks>
internal sealed class DevicePrekeys : IDisposable
{
    private const byte ExportVersion = 1;

    /// <summary>Rotated keys kept at once: the current one plus those in their grace period.</summary>
    private const int MaxStoredRotatedKeys = 1000;

    private const int MaxExportSize = 64 * 1024 * 1024;

    private readonly DeviceIdentity _identity;
    private readonly PrekeyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly List<Entry<X25519PrivateKey>> _signed = [];
    private readonly SortedDictionary<uint, Entry<X25519PrivateKey>> _oneTime = [];
    private readonly SortedDictionary<uint, Entry<MLKem768PrivateKey>> _kemOneTime = [];
    private readonly List<Entry<MLKem768PrivateKey>> _lastResort = [];
    private uint _nextId = 1;

    private DevicePrekeys(DeviceIdentity identity, PrekeyOptions options, TimeProvider timeProvider)
    {
        _identity = identity;
        _options = options;
        _timeProvider = timeProvider;
    }

    /// <summary>Generates a full set of prekeys for <paramref name="identity"/>.</summary>
    public static DevicePrekeys Create(DeviceIdentity identity, PrekeyOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        var prekeys = new DevicePrekeys(identity, options.Snapshot(), timeProvider);
        prekeys.Refresh();
        return prekeys;
    }

    /// <summary>The signed prekey currently published.</summary>
    public PublicPrekey CurrentSignedPrekey => _signed[^1].Public;

    /// <summary>The last-resort ML-KEM prekey currently published.</summary>
    public PublicPrekey CurrentLastResortPrekey => _lastResort[^1].Public;

    public int OneTimePrekeyCount => _oneTime.Count;

    public int KemOneTimePrekeyCount => _kemOneTime.Count;

    /// <summary>The one-time prekeys (X25519 then ML-KEM) to upload to the relay.</summary>
    public IEnumerable<PublicPrekey> OneTimePrekeys => _oneTime.Values.Select(e => e.Public).Concat(_kemOneTime.Values.Select(e => e.Public));

    /// <summary>
    /// Applies the rotation policy at the current time: replaces a signed or last-resort prekey older than its
    /// rotation interval, deletes replaced ones past their grace period, and refills one-time batches that fell below
    /// their threshold. Returns <see langword="true"/> when the published prekeys changed and must be uploaded again.
    /// </summary>
    public bool Refresh()
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        bool changed = false;

        changed |= Rotate(_signed, now, _options.SignedPrekeyRotationInterval, () =>
        {
            X25519PrivateKey key = X25519PrivateKey.Generate();
            return new Entry<X25519PrivateKey>(PublicPrekey.Create(_identity, PrekeyKind.SignedX25519, NextId(), UnixSeconds(now), key.PublicKey), key, now);
        });
        changed |= Rotate(_lastResort, now, _options.LastResortPrekeyRotationInterval, () =>
        {
            MLKem768PrivateKey key = MLKem768PrivateKey.Generate();
            return new Entry<MLKem768PrivateKey>(PublicPrekey.Create(_identity, PrekeyKind.LastResortMLKem768, NextId(), UnixSeconds(now), key.EncapsulationKey), key, now);
        });

        if (_oneTime.Count < _options.OneTimePrekeyRefillThreshold || _oneTime.Count == 0)
        {
            while (_oneTime.Count < _options.OneTimePrekeyBatchSize)
            {
                X25519PrivateKey key = X25519PrivateKey.Generate();
                uint id = NextId();
                _oneTime.Add(id, new Entry<X25519PrivateKey>(PublicPrekey.Create(_identity, PrekeyKind.OneTimeX25519, id, UnixSeconds(now), key.PublicKey), key, now));
            }

            changed = true;
        }

        if (_kemOneTime.Count < _options.KemOneTimePrekeyRefillThreshold || _kemOneTime.Count == 0)
        {
            while (_kemOneTime.Count < _options.KemOneTimePrekeyBatchSize)
            {
                MLKem768PrivateKey key = MLKem768PrivateKey.Generate();
                uint id = NextId();
                _kemOneTime.Add(id, new Entry<MLKem768PrivateKey>(PublicPrekey.Create(_identity, PrekeyKind.OneTimeMLKem768, id, UnixSeconds(now), key.EncapsulationKey), key, now));
            }

            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// Builds the bundle the relay would hand out: the current signed prekey, the given (or lowest-id) one-time X25519
    /// prekey if any is left, and the given (or lowest-id) one-time ML-KEM prekey, else the last-resort one.
    /// </summary>
    public PrekeyBundle CreateBundle(uint? oneTimePrekeyId = null, uint? kemPrekeyId = null)
    {
        PublicPrekey? oneTime = _oneTime.Values.FirstOrDefault()?.Public;
        if (oneTimePrekeyId is uint id)
        {
            oneTime = _oneTime.TryGetValue(id, out Entry<X25519PrivateKey>? entry)
                ? entry.Public
                : throw new ArgumentException("This device holds no one-time prekey with that id.", nameof(oneTimePrekeyId));
        }

        PublicPrekey kem = _kemOneTime.Values.FirstOrDefault()?.Public ?? CurrentLastResortPrekey;
        if (kemPrekeyId is uint kemId)
        {
            kem = (_kemOneTime.TryGetValue(kemId, out Entry<MLKem768PrivateKey>? entry) ? entry : _lastResort.Find(e => e.Public.Id == kemId))?.Public
                ?? throw new ArgumentException("This device holds no ML-KEM prekey with that id.", nameof(kemPrekeyId));
        }

        return new PrekeyBundle(_identity.PublicKey, CurrentSignedPrekey, oneTime, kem);
    }

    internal X25519PrivateKey? FindSignedPrekey(uint id) => _signed.Find(e => e.Public.Id == id)?.Key;

    internal X25519PrivateKey? FindOneTimePrekey(uint id) => _oneTime.TryGetValue(id, out Entry<X25519PrivateKey>? entry) ? entry.Key : null;

    internal MLKem768PrivateKey? FindKemPrekey(uint id) =>
        _kemOneTime.TryGetValue(id, out Entry<MLKem768PrivateKey>? entry) ? entry.Key : _lastResort.Find(e => e.Public.Id == id)?.Key;

    /// <summary>Deletes the one-time prekeys a session setup used. A last-resort KEM prekey id is left alone.</summary>
    internal void ConsumeOneTimePrekeys(uint? oneTimePrekeyId, uint kemPrekeyId)
    {
        if (oneTimePrekeyId is uint id && _oneTime.Remove(id, out Entry<X25519PrivateKey>? entry))
        {
            entry.Key.Dispose();
        }

        if (_kemOneTime.Remove(kemPrekeyId, out Entry<MLKem768PrivateKey>? kemEntry))
        {
            kemEntry.Key.Dispose();
        }
    }

    /// <summary>
    /// The private prekeys and their timestamps as compact versioned binary for a key store (see docs/protocol.md,
    /// "Stored prekeys"). Contains secrets: store it encrypted.
    /// </summary>
    public byte[] Export()
    {
        var writer = new WireWriter(4096 + (_kemOneTime.Count * 1400));
        writer.WriteUInt8(ExportVersion).WriteUInt32(_nextId);
        WriteEntries(writer, _signed, WriteX25519);
        WriteEntries(writer, _oneTime.Values.ToList(), WriteX25519);
        WriteEntries(writer, _kemOneTime.Values.ToList(), WriteKem);
        WriteEntries(writer, _lastResort, WriteKem);
        return writer.ToArray();
    }

    /// <summary>
    /// Restores what <see cref="Export"/> wrote for <paramref name="identity"/>. Strict: unknown versions, truncation,
    /// counts over their limits, trailing bytes, a prekey in the wrong list, a signature that does not verify or a
    /// private key that does not match its public key are refused with <see cref="CryptographicFailureException"/>.
    /// </summary>
    public static DevicePrekeys Import(ReadOnlySpan<byte> exported, DeviceIdentity identity, PrekeyOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        if (exported.Length > MaxExportSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The stored prekeys exceed their maximum size.");
        }

        var reader = new WireReader(exported);
        byte version = reader.ReadUInt8("prekeys.version");
        if (version != ExportVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Stored prekeys version {version} is not supported.");
        }

        var prekeys = new DevicePrekeys(identity, options.Snapshot(), timeProvider) { _nextId = reader.ReadUInt32("prekeys.nextId") };
        try
        {
            prekeys._signed.AddRange(ReadEntries(ref reader, identity, PrekeyKind.SignedX25519, MaxStoredRotatedKeys, ReadX25519));
            foreach (Entry<X25519PrivateKey> entry in ReadEntries(ref reader, identity, PrekeyKind.OneTimeX25519, PrekeyOptions.MaxBatchSize, ReadX25519))
            {
                if (!prekeys._oneTime.TryAdd(entry.Public.Id, entry))
                {
                    entry.Key.Dispose();
                    throw DuplicateId();
                }
            }

            foreach (Entry<MLKem768PrivateKey> entry in ReadEntries(ref reader, identity, PrekeyKind.OneTimeMLKem768, PrekeyOptions.MaxBatchSize, ReadKem))
            {
                if (!prekeys._kemOneTime.TryAdd(entry.Public.Id, entry))
                {
                    entry.Key.Dispose();
                    throw DuplicateId();
                }
            }

            prekeys._lastResort.AddRange(ReadEntries(ref reader, identity, PrekeyKind.LastResortMLKem768, MaxStoredRotatedKeys, ReadKem));
            reader.EnsureEnd();
            if (prekeys._signed.Count == 0 || prekeys._lastResort.Count == 0)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "Stored prekeys must hold a signed prekey and a last-resort prekey.");
            }

            // Ids come from one counter; a stored counter at or below a stored id would hand the id out twice.
            IEnumerable<uint> ids = prekeys._signed.Select(e => e.Public.Id).Concat(prekeys._lastResort.Select(e => e.Public.Id)).Concat(prekeys._oneTime.Keys).Concat(prekeys._kemOneTime.Keys).ToList();
            if (ids.Distinct().Count() != ids.Count() || ids.Max() >= prekeys._nextId)
            {
                throw DuplicateId();
            }

            return prekeys;
        }
        catch
        {
            prekeys.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (Entry<X25519PrivateKey> entry in _signed.Concat(_oneTime.Values))
        {
            entry.Key.Dispose();
        }

        foreach (Entry<MLKem768PrivateKey> entry in _lastResort.Concat(_kemOneTime.Values))
        {
            entry.Key.Dispose();
        }
    }

    public override string ToString() =>
        $"DevicePrekeys(signed {CurrentSignedPrekey.Id}, {_oneTime.Count} one-time, {_kemOneTime.Count} KEM one-time, last resort {CurrentLastResortPrekey.Id})";

    private static void WriteEntries<TKey>(WireWriter writer, List<Entry<TKey>> entries, Action<WireWriter, TKey> writeKey)
    {
        writer.WriteUInt16((ushort)entries.Count);
        foreach (Entry<TKey> entry in entries)
        {
            entry.Public.Write(writer);
            writeKey(writer, entry.Key);
            writer.WriteUInt64((ulong)entry.CreatedAt.ToUnixTimeMilliseconds());
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

    private delegate TKey KeyReader<TKey>(ref WireReader reader);

    private static List<Entry<TKey>> ReadEntries<TKey>(ref WireReader reader, DeviceIdentity identity, PrekeyKind kind, int maxCount, KeyReader<TKey> readKey)
        where TKey : IDisposable
    {
        int count = reader.ReadUInt16("prekeys.count");
        if (count > maxCount)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"prekeys.count exceeds its maximum of {maxCount}.");
        }

        var entries = new List<Entry<TKey>>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                PublicPrekey publicPrekey = PublicPrekey.Read(ref reader, "prekeys.prekey");
                publicPrekey.Verify(identity.PublicKey.SigningKey, "stored prekey", kind);
                TKey key = readKey(ref reader);
                var entry = new Entry<TKey>(publicPrekey, key, FromUnixMilliseconds(reader.ReadUInt64("prekeys.createdAt")));
                entries.Add(entry);
                ReadOnlySpan<byte> derived = key switch
                {
                    X25519PrivateKey x => x.PublicKey,
                    MLKem768PrivateKey m => m.EncapsulationKey,
                    _ => throw new InvalidOperationException("Unknown prekey type."),
                };
                if (!derived.SequenceEqual(publicPrekey.PublicKey))
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.InvalidPrivateKey, "A stored private prekey does not match its public key.");
                }

                bool replaced = reader.ReadUInt8("prekeys.hasReplacedAt") switch
                {
                    0 => false,
                    1 => true,
                    _ => throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "prekeys.hasReplacedAt must be 0 or 1."),
                };
                if (replaced)
                {
                    entry.ReplacedAt = FromUnixMilliseconds(reader.ReadUInt64("prekeys.replacedAt"));
                }
            }

            return entries;
        }
        catch
        {
            foreach (Entry<TKey> entry in entries)
            {
                entry.Key.Dispose();
            }

            throw;
        }
    }

    private static CryptographicFailureException DuplicateId() =>
        new(CryptographicFailureReason.MalformedEncoding, "Stored prekey ids repeat or are not below the stored next id.");

    private static void WriteX25519(WireWriter writer, X25519PrivateKey key)
    {
        byte[] exported = new byte[X25519PrivateKey.KeySize];
        key.Export(exported);
        writer.WriteFixed(exported);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(exported);
    }

    private static void WriteKem(WireWriter writer, MLKem768PrivateKey key)
    {
        byte[] seed = new byte[MLKem768.SeedSize];
        key.ExportSeed(seed);
        writer.WriteFixed(seed);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
    }

    private static X25519PrivateKey ReadX25519(ref WireReader reader) => X25519PrivateKey.Import(reader.ReadFixed(X25519PrivateKey.KeySize, "prekeys.privateKey"));

    private static MLKem768PrivateKey ReadKem(ref WireReader reader) => MLKem768PrivateKey.Import(reader.ReadFixed(MLKem768.SeedSize, "prekeys.seed"));

    private static DateTimeOffset FromUnixMilliseconds(ulong value)
    {
        if (value > (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A stored prekey timestamp is out of range.");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)value);
    }

    private bool Rotate<TKey>(List<Entry<TKey>> keys, DateTimeOffset now, TimeSpan interval, Func<Entry<TKey>> generate)
        where TKey : IDisposable
    {
        bool changed = false;
        if (keys.Count == 0 || now - keys[^1].CreatedAt >= interval)
        {
            if (keys.Count > 0)
            {
                keys[^1].ReplacedAt = now;
            }

            keys.Add(generate());
            changed = true;
        }

        // Replaced keys stay for the grace period so that prekey messages built from an older bundle still work.
        for (int i = keys.Count - 2; i >= 0; i--)
        {
            if (keys[i].ReplacedAt is DateTimeOffset replaced && now - replaced >= _options.ReplacedPrekeyGracePeriod)
            {
                keys[i].Key.Dispose();
                keys.RemoveAt(i);
            }
        }

        return changed;
    }

    private uint NextId()
    {
        if (_nextId == uint.MaxValue)
        {
            throw new InvalidOperationException("This device has used every prekey id; generate a new device identity.");
        }

        return _nextId++;
    }

    private static ulong UnixSeconds(DateTimeOffset time) => (ulong)Math.Max(0, time.ToUnixTimeSeconds());

    private sealed class Entry<TKey>(PublicPrekey publicPrekey, TKey key, DateTimeOffset createdAt)
    {
        public PublicPrekey Public { get; } = publicPrekey;

        public TKey Key { get; } = key;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset? ReplacedAt { get; set; }

        public override string ToString() => $"Entry({Public})";
    }
}
