using TelehealthMessaging.Transport;
namespace TelehealthMessaging.Crypto;

/// <summary>
/// The sealed envelope: the outer layer that hides the sender and the content from the relay.
/// </summary>
/// <remarks>
/// <para>
/// Layout (v1): version (u8 = 1) ‖ recipient device id length n (u8, 1–64) ‖ n ASCII bytes of the recipient
/// <see cref="DeviceId"/> ‖ HPKE encapsulated key (32) ‖ HPKE ciphertext ‖ tag (16). Everything before the ciphertext is
/// the cleartext header, which the relay reads to route the envelope and which is the HPKE associated data, so an
/// envelope cannot be re-addressed without failing to open.
/// </para>
/// <para>
/// HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, single shot, to the
/// recipient device's envelope key, with <see cref="Info"/> as the info string. The plaintext is an
/// <see cref="EnvelopeContent"/> padded to a bucket.
/// </para>
/// </remarks>
internal sealed class SealedEnvelope
{
    public const byte FormatVersion = 1;

    /// <summary>Bytes around the padded content: version, id length, the longest id, enc and the tag.</summary>
    public const int MaxOverhead = 1 + 1 + Identifier.MaxLength + Hpke.EncapsulatedKeySize + Aead.TagSize;

    /// <summary>Hard limit checked before anything is parsed.</summary>
    public const int MaxEncodedSize = EnvelopePadding.MaxBucketSize + MaxOverhead;

    /// <summary>The HPKE info string: fixes the protocol and version the key schedule belongs to.</summary>
    public static ReadOnlySpan<byte> Info => "TelehealthMessaging_SealedEnvelope_v1"u8;

    private readonly byte[] _header;
    private readonly byte[] _encapsulatedKey;
    private readonly byte[] _ciphertext;

    private SealedEnvelope(DeviceId recipient, byte[] header, byte[] encapsulatedKey, byte[] ciphertext)
    {
        Recipient = recipient;
        _header = header;
        _encapsulatedKey = encapsulatedKey;
        _ciphertext = ciphertext;
    }

    /// <summary>The device the envelope is addressed to (cleartext).</summary>
    public DeviceId Recipient { get; }

    /// <summary>The cleartext header: version ‖ n ‖ device id ‖ enc. It is the HPKE associated data.</summary>
    public ReadOnlySpan<byte> Header => _header;

    /// <summary>Seals <paramref name="paddedContent"/> to <paramref name="recipientEnvelopeKey"/> and returns the encoded envelope.</summary>
    public static byte[] Seal(DeviceId recipient, ReadOnlySpan<byte> recipientEnvelopeKey, ReadOnlySpan<byte> paddedContent)
    {
        if (!EnvelopePadding.IsBucket(paddedContent.Length))
        {
            throw new ArgumentException("The envelope content must be padded to a bucket size.", nameof(paddedContent));
        }

        using HpkeSenderContext context = Hpke.SetupBaseS(recipientEnvelopeKey, Info, out byte[] encapsulatedKey);
        var writer = new WireWriter(paddedContent.Length + MaxOverhead);
        writer.WriteUInt8(FormatVersion);
        WireIdentifier.Write(writer, recipient);
        writer.WriteFixed(encapsulatedKey);
        byte[] ciphertext = context.Seal(writer.WrittenSpan, paddedContent);
        writer.WriteFixed(ciphertext);
        return writer.ToArray();
    }

    /// <summary>
    /// Parses the cleartext layout strictly: an oversize input, an unknown version (<see cref="CryptographicFailureReason.UnsupportedAlgorithm"/>),
    /// an id length outside 1–64 or an id that is not a valid identifier, truncation, and a ciphertext whose length is not
    /// a padding bucket plus the tag (<see cref="CryptographicFailureReason.MalformedEncoding"/>) are refused.
    /// </summary>
    public static SealedEnvelope Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"A sealed envelope may be at most {MaxEncodedSize} bytes.");
        }

        // The cleartext header is the one the relay parses too: one parser, so the two can never disagree.
        if (!SealedEnvelopeHeader.TryParse(encoded, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error))
        {
            throw error == SealedEnvelopeHeaderError.UnknownVersion
                ? new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Sealed envelope version {encoded[0]} is not supported.")
                : new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"The sealed envelope's cleartext header is malformed ({error}).");
        }

        DeviceId recipient = header.Recipient;
        byte[] encapsulatedKey = encoded.Slice(header.EncapsulatedKeyOffset, Hpke.EncapsulatedKeySize).ToArray();
        int headerLength = header.CiphertextOffset;
        byte[] ciphertext = encoded[header.CiphertextOffset..].ToArray();
        if (ciphertext.Length < Aead.TagSize || !EnvelopePadding.IsBucket(ciphertext.Length - Aead.TagSize))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "envelope.ciphertext is not a padding bucket plus its tag.");
        }

        return new SealedEnvelope(recipient, encoded[..headerLength].ToArray(), encapsulatedKey, ciphertext);
    }

    /// <summary>
    /// Opens the envelope with the first of <paramref name="candidateKeys"/> that authenticates it (a device holds its
    /// current envelope key and replaced ones in their grace period). Throws
    /// <see cref="CryptographicFailureReason.AuthenticationFailed"/> when none does.
    /// </summary>
    public byte[] Open(IEnumerable<X25519PrivateKey> candidateKeys)
    {
        ArgumentNullException.ThrowIfNull(candidateKeys);
        CryptographicFailureException? failure = null;
        foreach (X25519PrivateKey key in candidateKeys)
        {
            try
            {
                return Hpke.Open(_encapsulatedKey, key, Info, _header, _ciphertext);
            }
            catch (CryptographicFailureException ex)
            {
                // A low-order enc fails the same way under every key; keep the first reason for the report.
                failure ??= ex;
            }
        }

        throw failure is { Reason: not CryptographicFailureReason.AuthenticationFailed }
            ? failure
            : CryptographicFailureException.AuthenticationFailed("The sealed envelope");
    }

    public override string ToString() => $"SealedEnvelope(to {Recipient}, {_ciphertext.Length} bytes)";
}
