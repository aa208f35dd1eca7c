using System.Security.Cryptography;
using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// The public identity of one device: its Ed25519 signing key, its X25519 agreement key, and the Ed25519 signature
/// that binds the X25519 key to the signing key.
/// </summary>
/// <remarks>
/// Instances come from <see cref="DeviceIdentity"/> or from <see cref="Read"/>, which checks lengths only; call
/// <see cref="Verify"/> before trusting one received from the network.
/// </remarks>
internal sealed class IdentityKey : IEquatable<IdentityKey>
{
    /// <summary>The only identity algorithm: Ed25519 for signing, X25519 for agreement.</summary>
    public const byte AlgorithmEd25519X25519 = 0x01;

    /// <summary>The size of <see cref="EncodePublicKeys"/>: signing key ‖ agreement key.</summary>
    public const int PublicKeysSize = Ed25519.PublicKeySize + X25519PrivateKey.PublicKeySize;

    /// <summary>The size of <see cref="Write"/>'s output: both public keys and the binding signature.</summary>
    public const int EncodedSize = PublicKeysSize + Ed25519.SignatureSize;

    public const int FingerprintSize = 32;

    private static readonly byte[] BindingLabel = Encoding.ASCII.GetBytes("TelehealthMessaging_IdentityBinding_v1");
    private static readonly byte[] FingerprintLabel = Encoding.ASCII.GetBytes("TelehealthMessaging_Fingerprint_v1");

    private readonly byte[] _signingKey;
    private readonly byte[] _agreementKey;
    private readonly byte[] _bindingSignature;

    internal IdentityKey(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey, ReadOnlySpan<byte> bindingSignature)
    {
        _signingKey = signingKey.ToArray();
        _agreementKey = agreementKey.ToArray();
        _bindingSignature = bindingSignature.ToArray();
    }

    /// <summary>The 32-byte Ed25519 public key that signs the agreement key and every prekey.</summary>
    public ReadOnlySpan<byte> SigningKey => _signingKey;

    /// <summary>The 32-byte X25519 public key used in DH1 and DH2 of PQXDH.</summary>
    public ReadOnlySpan<byte> AgreementKey => _agreementKey;

    /// <summary>Ed25519 signature by <see cref="SigningKey"/> over <see cref="BindingMessage"/>.</summary>
    public ReadOnlySpan<byte> BindingSignature => _bindingSignature;

    /// <summary>The bytes the binding signature covers: label ‖ algorithm ‖ signing key ‖ agreement key.</summary>
    internal static byte[] BindingMessage(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey)
    {
        byte[] message = new byte[BindingLabel.Length + 1 + signingKey.Length + agreementKey.Length];
        BindingLabel.CopyTo(message, 0);
        message[BindingLabel.Length] = AlgorithmEd25519X25519;
        signingKey.CopyTo(message.AsSpan(BindingLabel.Length + 1));
        agreementKey.CopyTo(message.AsSpan(BindingLabel.Length + 1 + signingKey.Length));
        return message;
    }

    /// <summary>Reads the 128-byte encoding <see cref="Write"/> produces. Lengths are fixed; signatures are not checked here.</summary>
    public static IdentityKey Read(ref WireReader reader, string field)
    {
        ReadOnlySpan<byte> signingKey = reader.ReadFixed(Ed25519.PublicKeySize, field + ".signingKey");
        ReadOnlySpan<byte> agreementKey = reader.ReadFixed(X25519PrivateKey.PublicKeySize, field + ".agreementKey");
        ReadOnlySpan<byte> signature = reader.ReadFixed(Ed25519.SignatureSize, field + ".bindingSignature");
        return new IdentityKey(signingKey, agreementKey, signature);
    }

    /// <summary>Writes signing key (32) ‖ agreement key (32) ‖ binding signature (64).</summary>
    public void Write(WireWriter writer) => writer.WriteFixed(_signingKey).WriteFixed(_agreementKey).WriteFixed(_bindingSignature);

    /// <summary>Throws <see cref="CryptographicFailureReason.InvalidSignature"/> unless the signing key signed the agreement key.</summary>
    public void Verify()
    {
        if (!Ed25519.Verify(_signingKey, BindingMessage(_signingKey, _agreementKey), _bindingSignature))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidSignature, "The identity key's binding signature does not verify.");
        }
    }

    /// <summary>Signing key ‖ agreement key (64 bytes): the form used in associated data and safety numbers.</summary>
    public byte[] EncodePublicKeys()
    {
        byte[] encoded = new byte[PublicKeysSize];
        _signingKey.CopyTo(encoded, 0);
        _agreementKey.CopyTo(encoded, Ed25519.PublicKeySize);
        return encoded;
    }

    /// <summary>SHA-256(label ‖ algorithm ‖ signing key ‖ agreement key): 32 bytes that change when either key changes.</summary>
    public byte[] Fingerprint()
    {
        byte[] input = new byte[FingerprintLabel.Length + 1 + PublicKeysSize];
        FingerprintLabel.CopyTo(input, 0);
        input[FingerprintLabel.Length] = AlgorithmEd25519X25519;
        EncodePublicKeys().CopyTo(input, FingerprintLabel.Length + 1);
        return SHA256.HashData(input);
    }

    /// <summary>Two identities are equal when both public keys are; the signature is not part of the identity.</summary>
    public bool Equals(IdentityKey? other) =>
        other is not null && _signingKey.AsSpan().SequenceEqual(other._signingKey) && _agreementKey.AsSpan().SequenceEqual(other._agreementKey);

    public override bool Equals(object? obj) => Equals(obj as IdentityKey);

    public override int GetHashCode() => BitConverter.ToInt32(_signingKey, 0);

    /// <summary>Shows the first bytes of the fingerprint only: enough to tell identities apart in diagnostics.</summary>
    public override string ToString() => $"IdentityKey({Convert.ToHexString(Fingerprint(), 0, 4)})";
}
