using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// The public half of a device's envelope key: the X25519 key other devices seal envelopes to, with its id, creation
/// time and an Ed25519 signature by the device's identity key that also names the device.
/// </summary>
/// <remarks>
/// Published with the device registration and served beside every prekey bundle. <see cref="Read"/> checks lengths
/// only; <see cref="Verify"/> must pass before a sender seals to the key.
/// </remarks>
internal sealed class SignedEnvelopeKey
{
    public const byte FormatVersion = 1;

    /// <summary>version (1) ‖ id (4) ‖ createdAt (8) ‖ public key (32) ‖ signature (64).</summary>
    public const int EncodedSize = 1 + 4 + 8 + X25519PrivateKey.PublicKeySize + Ed25519.SignatureSize;

    private static readonly byte[] SignatureLabel = Encoding.ASCII.GetBytes("TelehealthMessaging_EnvelopeKey_v1");

    private readonly byte[] _publicKey;
    private readonly byte[] _signature;

    // The identity and device this key last verified for. The key and the identity are immutable, so verifying the same
    // pair again would give the same result; a sender verifies its recipients' keys on every seal.
    private VerifiedFor? _verified;

    internal SignedEnvelopeKey(uint id, ulong createdAt, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature)
    {
        Id = id;
        CreatedAt = createdAt;
        _publicKey = publicKey.ToArray();
        _signature = signature.ToArray();
    }

    /// <summary>The key's id, unique per device; it never appears on the wire of an envelope.</summary>
    public uint Id { get; }

    /// <summary>Creation time in Unix seconds (UTC).</summary>
    public ulong CreatedAt { get; }

    /// <summary>The 32-byte X25519 public key (HPKE pkR).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>Creates and signs the public record of <paramref name="publicKey"/> for <paramref name="device"/>.</summary>
    public static SignedEnvelopeKey Create(DeviceIdentity identity, DeviceId device, uint id, ulong createdAt, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(identity);
        byte[] signature = identity.Sign(SignedBytes(device, id, createdAt, publicKey));
        return new SignedEnvelopeKey(id, createdAt, publicKey, signature);
    }

    /// <summary>
    /// Throws <see cref="CryptographicFailureReason.InvalidSignature"/> unless <paramref name="identity"/> signed this key
    /// for <paramref name="device"/>. The device id is part of the signed bytes, so a key cannot be served as another
    /// device's.
    /// </summary>
    public void Verify(IdentityKey identity, DeviceId device)
    {
        ArgumentNullException.ThrowIfNull(identity);
        VerifiedFor? verified = Volatile.Read(ref _verified);
        if (verified is not null && ReferenceEquals(verified.Identity, identity) && verified.Device == device)
        {
            return;
        }

        if (!Ed25519.Verify(identity.SigningKey, SignedBytes(device, Id, CreatedAt, _publicKey), _signature))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidSignature, "The envelope key's signature does not verify for this device.");
        }

        Volatile.Write(ref _verified, new VerifiedFor(identity, device));
    }

    public void Write(WireWriter writer) =>
        writer.WriteUInt8(FormatVersion).WriteUInt32(Id).WriteUInt64(CreatedAt).WriteFixed(_publicKey).WriteFixed(_signature);

    public byte[] Encode()
    {
        var writer = new WireWriter(EncodedSize);
        Write(writer);
        return writer.ToArray();
    }

    public static SignedEnvelopeKey Read(ref WireReader reader, string field)
    {
        byte version = reader.ReadUInt8(field + ".version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Envelope key version {version} is not supported.");
        }

        uint id = reader.ReadUInt32(field + ".id");
        ulong createdAt = reader.ReadUInt64(field + ".createdAt");
        ReadOnlySpan<byte> publicKey = reader.ReadFixed(X25519PrivateKey.PublicKeySize, field + ".publicKey");
        ReadOnlySpan<byte> signature = reader.ReadFixed(Ed25519.SignatureSize, field + ".signature");
        return new SignedEnvelopeKey(id, createdAt, publicKey, signature);
    }

    /// <summary>Parses the <see cref="EncodedSize"/>-byte encoding strictly.</summary>
    public static SignedEnvelopeKey Parse(ReadOnlySpan<byte> encoded)
    {
        var reader = new WireReader(encoded);
        SignedEnvelopeKey key = Read(ref reader, "envelopeKey");
        reader.EnsureEnd();
        return key;
    }

    public override string ToString() => $"SignedEnvelopeKey({Id})";

    /// <summary>An identity object and device a key verified for; replaced whole, so readers never see half of one.</summary>
    private sealed record VerifiedFor(IdentityKey Identity, DeviceId Device);

    /// <summary>label ‖ u8 device id length ‖ device id (ASCII) ‖ u32 id ‖ u64 createdAt ‖ public key.</summary>
    private static byte[] SignedBytes(DeviceId device, uint id, ulong createdAt, ReadOnlySpan<byte> publicKey)
    {
        var writer = new WireWriter(128);
        writer.WriteFixed(SignatureLabel);
        WireIdentifier.Write(writer, device);
        writer.WriteUInt32(id).WriteUInt64(createdAt).WriteFixed(publicKey);
        return writer.ToArray();
    }
}
