using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// Who sent a sealed envelope, visible only to its recipient: the sender's user id, device id and public identity,
/// signed by that identity's Ed25519 key.
/// </summary>
/// <remarks>
/// The signature binds the user and device ids to the identity. It proves nothing about the inner message by itself:
/// the recipient also checks that the certificate's identity is the identity of the session that decrypts the inner
/// message (see <see cref="SecureMessenger"/>), which is what stops one device from speaking as another.
/// </remarks>
internal sealed class SenderCertificate
{
    public const byte FormatVersion = 1;

    /// <summary>version ‖ two ids of at most 64 bytes with their lengths ‖ identity ‖ signature.</summary>
    public const int MaxEncodedSize = 1 + (2 * (1 + Identifier.MaxLength)) + IdentityKey.EncodedSize + Ed25519.SignatureSize;

    private static readonly byte[] SignatureLabel = Encoding.ASCII.GetBytes("TelehealthMessaging_SenderCertificate_v1");

    private readonly byte[] _signedPart;
    private readonly byte[] _signature;

    private SenderCertificate(UserId user, DeviceId device, IdentityKey identity, byte[] signedPart, byte[] signature)
    {
        User = user;
        Device = device;
        Identity = identity;
        _signedPart = signedPart;
        _signature = signature;
    }

    public UserId User { get; }

    public DeviceId Device { get; }

    public IdentityKey Identity { get; }

    /// <summary>Creates the certificate of the device that owns <paramref name="identity"/>.</summary>
    public static SenderCertificate Create(UserId user, DeviceId device, DeviceIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        byte[] signedPart = EncodeSignedPart(user, device, identity.PublicKey);
        return new SenderCertificate(user, device, identity.PublicKey, signedPart, identity.Sign(SignedBytes(signedPart)));
    }

    /// <summary>version ‖ u8 len ‖ user id ‖ u8 len ‖ device id ‖ identity (128) ‖ signature (64).</summary>
    public void Write(WireWriter writer) => writer.WriteFixed(_signedPart).WriteFixed(_signature);

    public byte[] Encode()
    {
        var writer = new WireWriter(MaxEncodedSize);
        Write(writer);
        return writer.ToArray();
    }

    /// <summary>Reads a certificate strictly (version, identifier syntax, lengths); call <see cref="Verify"/> before trusting it.</summary>
    public static SenderCertificate Read(ref WireReader reader)
    {
        WireReader start = reader;
        byte version = reader.ReadUInt8("certificate.version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Sender certificate version {version} is not supported.");
        }

        var user = new UserId(WireIdentifier.Read(ref reader, "certificate.userId"));
        var device = new DeviceId(WireIdentifier.Read(ref reader, "certificate.deviceId"));
        IdentityKey identity = IdentityKey.Read(ref reader, "certificate.identity");
        int signedLength = start.Remaining - reader.Remaining;
        byte[] signedPart = start.ReadFixed(signedLength, "certificate").ToArray();
        byte[] signature = reader.ReadFixed(Ed25519.SignatureSize, "certificate.signature").ToArray();
        return new SenderCertificate(user, device, identity, signedPart, signature);
    }

    /// <summary>
    /// Checks the identity's binding signature and the certificate signature; throws
    /// <see cref="CryptographicFailureReason.InvalidSignature"/> when either fails.
    /// </summary>
    public void Verify()
    {
        Identity.Verify();
        if (!Ed25519.Verify(Identity.SigningKey, SignedBytes(_signedPart), _signature))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidSignature, "The sender certificate's signature does not verify.");
        }
    }

    /// <summary>
    /// Whether <paramref name="other"/> has exactly this certificate's encoding (signed part and signature). Verification
    /// depends on those bytes alone, so a certificate with the same encoding as a verified one verifies too.
    /// </summary>
    public bool HasSameEncoding(SenderCertificate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _signedPart.AsSpan().SequenceEqual(other._signedPart) && _signature.AsSpan().SequenceEqual(other._signature);
    }

    public override string ToString() => $"SenderCertificate({User}, {Device}, {Identity})";

    private static byte[] EncodeSignedPart(UserId user, DeviceId device, IdentityKey identity)
    {
        var writer = new WireWriter(MaxEncodedSize);
        writer.WriteUInt8(FormatVersion);
        WireIdentifier.Write(writer, user);
        WireIdentifier.Write(writer, device);
        identity.Write(writer);
        return writer.ToArray();
    }

    private static byte[] SignedBytes(byte[] signedPart) => [.. SignatureLabel, .. signedPart];
}
