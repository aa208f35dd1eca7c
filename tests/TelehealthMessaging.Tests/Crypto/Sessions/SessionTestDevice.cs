using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

/// <summary>One device in a test: identity, prekeys and the sessions it holds with each peer device.</summary>
internal sealed class SessionTestDevice : IDisposable
{
    public static readonly PrekeyOptions SmallPrekeys = new()
    {
        OneTimePrekeyBatchSize = 4,
        OneTimePrekeyRefillThreshold = 1,
        KemOneTimePrekeyBatchSize = 2,
        KemOneTimePrekeyRefillThreshold = 1,
    };

    private readonly Dictionary<string, PeerDeviceSessions> _sessions = [];
    private readonly HashSet<uint> _issued = [];

    public SessionTestDevice(string name, FakeTimeProvider time, RatchetOptions? options = null, PrekeyOptions? prekeyOptions = null)
    {
        Name = name;
        Time = time;
        Options = options ?? new RatchetOptions();
        Identity = DeviceIdentity.Generate();
        Prekeys = DevicePrekeys.Create(Identity, prekeyOptions ?? SmallPrekeys, time);
    }

    public string Name { get; }

    public FakeTimeProvider Time { get; }

    public RatchetOptions Options { get; }

    public DeviceIdentity Identity { get; }

    public DevicePrekeys Prekeys { get; }

    public PeerDeviceSessions SessionsWith(SessionTestDevice peer)
    {
        if (!_sessions.TryGetValue(peer.Name, out PeerDeviceSessions? sessions))
        {
            sessions = new PeerDeviceSessions(Identity, peer.Identity.PublicKey, Options, Time);
            _sessions[peer.Name] = sessions;
        }

        return sessions;
    }

    /// <summary>Starts a session from a bundle of the peer's, handed out as the relay would.</summary>
    public void Initiate(SessionTestDevice peer) => SessionsWith(peer).Initiate(peer.IssueBundle());

    /// <summary>
    /// Plays the relay: each one-time prekey goes into one bundle only; when they run out the bundle has no one-time
    /// X25519 prekey and carries the last-resort ML-KEM prekey.
    /// </summary>
    public PrekeyBundle IssueBundle()
    {
        PublicPrekey? oneTime = Prekeys.OneTimePrekeys.FirstOrDefault(p => p.Kind == PrekeyKind.OneTimeX25519 && !_issued.Contains(p.Id));
        PublicPrekey kem = Prekeys.OneTimePrekeys.FirstOrDefault(p => p.Kind == PrekeyKind.OneTimeMLKem768 && !_issued.Contains(p.Id)) ?? Prekeys.CurrentLastResortPrekey;
        _issued.Add(kem.Id);
        if (oneTime is not null)
        {
            _issued.Add(oneTime.Id);
        }

        return new PrekeyBundle(Identity.PublicKey, Prekeys.CurrentSignedPrekey, oneTime, kem);
    }

    public byte[] Encrypt(SessionTestDevice peer, string text) => SessionsWith(peer).Encrypt(System.Text.Encoding.UTF8.GetBytes(text));

    public string Decrypt(SessionTestDevice sender, byte[] message) =>
        System.Text.Encoding.UTF8.GetString(SessionsWith(sender).Decrypt(message, Prekeys));

    /// <summary>Serializes every session set and restores it, as an app restart would.</summary>
    public void Restart()
    {
        foreach (string peer in _sessions.Keys.ToList())
        {
            byte[] stored = _sessions[peer].Serialize();
            _sessions[peer].Dispose();
            _sessions[peer] = PeerDeviceSessions.Deserialize(stored, Identity, Options, Time);
        }
    }

    public void Dispose()
    {
        foreach (PeerDeviceSessions sessions in _sessions.Values)
        {
            sessions.Dispose();
        }

        Prekeys.Dispose();
        Identity.Dispose();
    }

    public override string ToString() => Name;
}
