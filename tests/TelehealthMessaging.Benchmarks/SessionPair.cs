using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Benchmarks;

/// <summary>
/// Two devices, Alice and Bob, each with an identity, prekeys and its session set for the other, as an app holds them
/// in memory. <see cref="Establish"/> runs the full setup so that both then send plain ratchet messages.
/// </summary>
internal sealed class SessionPair : IDisposable
{
    // No one-time prekeys are handed out by the benchmarks (see CreateBundle), so small batches keep setup cheap.
    private static readonly PrekeyOptions Prekeys = new()
    {
        OneTimePrekeyBatchSize = 1,
        OneTimePrekeyRefillThreshold = 1,
        KemOneTimePrekeyBatchSize = 1,
        KemOneTimePrekeyRefillThreshold = 1,
    };

    private static readonly RatchetOptions Options = new();

    public SessionPair()
    {
        AliceIdentity = DeviceIdentity.Generate();
        BobIdentity = DeviceIdentity.Generate();
        AlicePrekeys = DevicePrekeys.Create(AliceIdentity, Prekeys, TimeProvider.System);
        BobPrekeys = DevicePrekeys.Create(BobIdentity, Prekeys, TimeProvider.System);
        AliceSessions = NewAliceSessions();
        BobSessions = NewBobSessions();
    }

    public DeviceIdentity AliceIdentity { get; }

    public DeviceIdentity BobIdentity { get; }

    public DevicePrekeys AlicePrekeys { get; }

    public DevicePrekeys BobPrekeys { get; }

    public PeerDeviceSessions AliceSessions { get; private set; }

    public PeerDeviceSessions BobSessions { get; private set; }

    /// <summary>
    /// Bob's bundle as the relay hands it out once his one-time prekeys ran out: signed prekey and last-resort ML-KEM
    /// prekey. Nothing in it is consumed, so setup can be repeated against the same prekeys; the libsignal baseline
    /// uses the same shape (no one-time EC prekey, a Kyber prekey that is not deleted).
    /// </summary>
    public byte[] CreateBundle() =>
        new PrekeyBundle(BobIdentity.PublicKey, BobPrekeys.CurrentSignedPrekey, oneTimePrekey: null, BobPrekeys.CurrentLastResortPrekey).Encode();

    /// <summary>
    /// Drops both session sets and runs a full session setup from <paramref name="encodedBundle"/>: Alice parses,
    /// verifies and processes the bundle (PQXDH with ML-KEM encapsulation) and encrypts; Bob decrypts (PQXDH as
    /// responder with ML-KEM decapsulation). Returns the plaintext Bob decrypted.
    /// </summary>
    public byte[] SetUp(byte[] encodedBundle, ReadOnlySpan<byte> firstMessage)
    {
        AliceSessions.Dispose();
        BobSessions.Dispose();
        AliceSessions = NewAliceSessions();
        BobSessions = NewBobSessions();
        AliceSessions.Initiate(PrekeyBundle.Parse(encodedBundle));
        byte[] prekeyMessage = AliceSessions.Encrypt(firstMessage);
        return BobSessions.Decrypt(prekeyMessage, BobPrekeys);
    }

    /// <summary>Sets up a session and exchanges one reply, after which Alice no longer sends prekey messages.</summary>
    public void Establish(ReadOnlySpan<byte> message)
    {
        SetUp(CreateBundle(), message);
        AliceSessions.Decrypt(BobSessions.Encrypt(message), AlicePrekeys);
    }

    public byte[] AliceToBob(ReadOnlySpan<byte> plaintext) => BobSessions.Decrypt(AliceSessions.Encrypt(plaintext), BobPrekeys);

    public byte[] BobToAlice(ReadOnlySpan<byte> plaintext) => AliceSessions.Decrypt(BobSessions.Encrypt(plaintext), AlicePrekeys);

    public void Dispose()
    {
        AliceSessions.Dispose();
        BobSessions.Dispose();
        AlicePrekeys.Dispose();
        BobPrekeys.Dispose();
        AliceIdentity.Dispose();
        BobIdentity.Dispose();
    }

    private PeerDeviceSessions NewAliceSessions() => new(AliceIdentity, BobIdentity.PublicKey, Options, TimeProvider.System);

    private PeerDeviceSessions NewBobSessions() => new(BobIdentity, AliceIdentity.PublicKey, Options, TimeProvider.System);
}
