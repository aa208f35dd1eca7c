using System.Security.Cryptography;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>A device with real identity keys, as the client SDK will hold them.</summary>
internal sealed class TestDevice : IDisposable
{
    public TestDevice(UserId? user = null, DeviceId? device = null)
    {
        UserId = user ?? UserId.New();
        DeviceId = device ?? DeviceId.New();
        IdentityKey = Ed25519PrivateKey.Generate();
        AgreementKey = X25519PrivateKey.Generate();
    }

    public UserId UserId { get; }

    public DeviceId DeviceId { get; }

    internal Ed25519PrivateKey IdentityKey { get; }

    internal X25519PrivateKey AgreementKey { get; }

    /// <summary>A well-formed sealed envelope for this device: version-1 header, random encapsulated key and ciphertext.</summary>
    public byte[] SealedEnvelope(int ciphertextLength = 48)
    {
        byte[] prefix = SealedEnvelopeHeader.WriteVersion1Prefix(DeviceId);
        byte[] envelope = new byte[prefix.Length + SealedEnvelopeHeader.EncapsulatedKeySize + ciphertextLength];
        prefix.CopyTo(envelope, 0);
        RandomNumberGenerator.Fill(envelope.AsSpan(prefix.Length));
        return envelope;
    }

    public void Dispose()
    {
        IdentityKey.Dispose();
        AgreementKey.Dispose();
    }
}
