using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Benchmarks;

/// <summary>
/// Two devices, Alice and Bob, each a <see cref="SecureMessenger"/> over in-memory stores, as the client layer holds
/// them. <see cref="EstablishAsync"/> sets up the session through sealed envelopes and exchanges one reply, so that
/// Alice's messages afterwards are plain ratchet messages inside sealed envelopes.
/// </summary>
internal sealed class SealedPair : IDisposable
{
    // Only the signed and last-resort prekeys are used (see EstablishAsync), so small batches keep setup cheap.
    private static readonly SecureMessengerOptions Options = new()
    {
        Prekeys = new PrekeyOptions
        {
            OneTimePrekeyBatchSize = 1,
            OneTimePrekeyRefillThreshold = 1,
            KemOneTimePrekeyBatchSize = 1,
            KemOneTimePrekeyRefillThreshold = 1,
        },
    };

    private static readonly UserId AliceUser = new("alice");
    private static readonly UserId BobUser = new("bob");
    private static readonly DeviceId AliceDevice = new("alice-phone");
    private static readonly DeviceId BobDevice = new("bob-laptop");

    private SealedPair(SecureMessenger alice, SecureMessenger bob)
    {
        Alice = alice;
        Bob = bob;
        BobAsRecipient = [new EnvelopeRecipient(BobUser, BobDevice, bob.Identity, bob.CurrentEnvelopeKey)];
        AliceAsRecipient = [new EnvelopeRecipient(AliceUser, AliceDevice, alice.Identity, alice.CurrentEnvelopeKey)];
    }

    public SecureMessenger Alice { get; }

    public SecureMessenger Bob { get; }

    /// <summary>Bob as Alice's directory lists him once a session exists: no bundle.</summary>
    private EnvelopeRecipient[] BobAsRecipient { get; }

    private EnvelopeRecipient[] AliceAsRecipient { get; }

    public static async Task<SealedPair> CreateAsync()
    {
        SecureMessenger alice = await SecureMessenger.LoadOrCreateAsync(AliceUser, AliceDevice, new InMemoryKeyStore(), new InMemorySessionStore(), Options, TimeProvider.System);
        SecureMessenger bob = await SecureMessenger.LoadOrCreateAsync(BobUser, BobDevice, new InMemoryKeyStore(), new InMemorySessionStore(), Options, TimeProvider.System);
        return new SealedPair(alice, bob);
    }

    /// <summary>
    /// Alice seals a first message to Bob from his bundle (signed and last-resort prekeys), Bob opens it and replies,
    /// Alice opens the reply: from then on Alice no longer sends prekey messages. Returns what Alice opened.
    /// </summary>
    public async Task<byte[]> EstablishAsync(ReadOnlyMemory<byte> message)
    {
        var first = new EnvelopeRecipient(BobUser, BobDevice, Bob.Identity, Bob.CurrentEnvelopeKey, Bob.CreateBundle());
        IReadOnlyList<OutgoingEnvelope> toBob = await Alice.SealAsync([first], message);
        await Bob.OpenAsync(toBob[0].Envelope);
        IReadOnlyList<OutgoingEnvelope> toAlice = await Bob.SealAsync(AliceAsRecipient, message);
        OpenedEnvelope reply = await Alice.OpenAsync(toAlice[0].Envelope);
        return reply.Plaintext;
    }

    /// <summary>Alice seals <paramref name="plaintext"/> to Bob; Bob opens it. Returns the plaintext Bob opened.</summary>
    public async Task<byte[]> AliceToBobAsync(ReadOnlyMemory<byte> plaintext)
    {
        IReadOnlyList<OutgoingEnvelope> envelopes = await Alice.SealAsync(BobAsRecipient, plaintext);
        OpenedEnvelope opened = await Bob.OpenAsync(envelopes[0].Envelope);
        return opened.Plaintext;
    }

    public void Dispose()
    {
        Alice.Dispose();
        Bob.Dispose();
    }
}
