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

        // The same keys as the client's identity type, which signs the binding, prekeys and envelope keys.
        byte[] exported = new byte[1 + Ed25519PrivateKey.SeedSize + X25519PrivateKey.KeySize];
        exported[0] = 1;
        IdentityKey.Export(exported.AsSpan(1, Ed25519PrivateKey.SeedSize));
        AgreementKey.Export(exported.AsSpan(1 + Ed25519PrivateKey.SeedSize));
        Identity = DeviceIdentity.Import(exported);
        CryptographicOperations.ZeroMemory(exported);
    }

    public UserId UserId { get; }

    public DeviceId DeviceId { get; }

    internal Ed25519PrivateKey IdentityKey { get; }

    internal X25519PrivateKey AgreementKey { get; }

    /// <summary>The identity as the client holds it (same keys as <see cref="IdentityKey"/> and <see cref="AgreementKey"/>).</summary>
    internal DeviceIdentity Identity { get; }

    /// <summary>The binding signature the client sends at registration (over IdentityKey.BindingMessage).</summary>
    public byte[] BindingSignature => Identity.PublicKey.BindingSignature.ToArray();

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
        Identity.Dispose();
        IdentityKey.Dispose();
        AgreementKey.Dispose();
    }
}
