namespace TelehealthMessaging.Crypto;

/// <summary>
/// What the relay hands a device that wants to start a session with another device: the responder's identity, its
/// signed X25519 prekey, at most one one-time X25519 prekey and one ML-KEM-768 prekey (one-time or last-resort).
/// </summary>
/// <remarks>
/// <see cref="Parse"/> checks structure only. <see cref="Verify"/> must pass before the bundle is used: it checks every
/// signature, key length and algorithm id.
/// </remarks>
internal sealed class PrekeyBundle
{
    public const byte FormatVersion = 1;

    /// <summary>Hard limit on an encoded bundle; a valid one is about 1.6 KB.</summary>
    public const int MaxEncodedSize = 16 * 1024;

    public PrekeyBundle(IdentityKey identity, PublicPrekey signedPrekey, PublicPrekey? oneTimePrekey, PublicPrekey kemPrekey)
    {
        Identity = identity;
        SignedPrekey = signedPrekey;
        OneTimePrekey = oneTimePrekey;
        KemPrekey = kemPrekey;
    }

    public IdentityKey Identity { get; }

    public PublicPrekey SignedPrekey { get; }

    public PublicPrekey? OneTimePrekey { get; }

    public PublicPrekey KemPrekey { get; }

    /// <summary>version ‖ identity algorithm ‖ identity ‖ signed prekey ‖ has one-time ‖ [one-time prekey] ‖ KEM prekey.</summary>
    public byte[] Encode()
    {
        var writer = new WireWriter(2048);
        writer.WriteUInt8(FormatVersion).WriteUInt8(IdentityKey.AlgorithmEd25519X25519);
        Identity.Write(writer);
        SignedPrekey.Write(writer);
        writer.WriteUInt8(OneTimePrekey is null ? (byte)0 : (byte)1);
        OneTimePrekey?.Write(writer);
        KemPrekey.Write(writer);
        return writer.ToArray();
    }

    /// <summary>
    /// Parses an encoded bundle strictly: unknown version or identity algorithm, truncation, oversize fields, a flag
    /// other than 0 or 1 and trailing bytes are all refused with <see cref="CryptographicFailureException"/>.
    /// </summary>
    public static PrekeyBundle Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"A prekey bundle may be at most {MaxEncodedSize} bytes.");
        }

        var reader = new WireReader(encoded);
        byte version = reader.ReadUInt8("bundle.version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Prekey bundle version {version} is not supported.");
        }

        byte identityAlgorithm = reader.ReadUInt8("bundle.identityAlgorithm");
        if (identityAlgorithm != IdentityKey.AlgorithmEd25519X25519)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Identity algorithm id {identityAlgorithm} is not supported.");
        }

        IdentityKey identity = IdentityKey.Read(ref reader, "bundle.identity");
        PublicPrekey signed = PublicPrekey.Read(ref reader, "bundle.signedPrekey");
        byte hasOneTime = reader.ReadUInt8("bundle.hasOneTimePrekey");
        PublicPrekey? oneTime = hasOneTime switch
        {
            0 => null,
            1 => PublicPrekey.Read(ref reader, "bundle.oneTimePrekey"),
            _ => throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "bundle.hasOneTimePrekey must be 0 or 1."),
        };
        PublicPrekey kem = PublicPrekey.Read(ref reader, "bundle.kemPrekey");
        reader.EnsureEnd();
        return new PrekeyBundle(identity, signed, oneTime, kem);
    }

    /// <summary>
    /// Checks the identity binding signature and every prekey's role, algorithm id, key length, ML-KEM key validity and
    /// signature. Throws <see cref="CryptographicFailureException"/> at the first failure; a bundle that fails must not
    /// be used.
    /// </summary>
    public void Verify()
    {
        Identity.Verify();
        SignedPrekey.Verify(Identity.SigningKey, "signed prekey", PrekeyKind.SignedX25519);
        OneTimePrekey?.Verify(Identity.SigningKey, "one-time prekey", PrekeyKind.OneTimeX25519);
        KemPrekey.Verify(Identity.SigningKey, "ML-KEM prekey", PrekeyKind.OneTimeMLKem768, PrekeyKind.LastResortMLKem768);
    }

    public override string ToString() =>
        $"PrekeyBundle({Identity}, signed {SignedPrekey.Id}, one-time {(OneTimePrekey is null ? "none" : OneTimePrekey.Id)}, KEM {KemPrekey.Id})";
}
