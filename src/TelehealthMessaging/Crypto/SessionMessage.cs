namespace TelehealthMessaging.Crypto;

/// <summary>What a PQXDH initiator sends so that the responder can derive the same shared key.</summary>
internal sealed class PrekeyPreamble
{
    private readonly byte[] _ephemeralKey;
    private readonly byte[] _kemCiphertext;

    public PrekeyPreamble(IdentityKey initiatorIdentity, ReadOnlySpan<byte> ephemeralKey, uint signedPrekeyId, uint? oneTimePrekeyId, uint kemPrekeyId, ReadOnlySpan<byte> kemCiphertext)
    {
        InitiatorIdentity = initiatorIdentity;
        _ephemeralKey = ephemeralKey.ToArray();
        SignedPrekeyId = signedPrekeyId;
        OneTimePrekeyId = oneTimePrekeyId;
        KemPrekeyId = kemPrekeyId;
        _kemCiphertext = kemCiphertext.ToArray();
    }

    public IdentityKey InitiatorIdentity { get; }

    /// <summary>The initiator's ephemeral X25519 public key (EK_A); it also identifies the session it starts.</summary>
    public ReadOnlySpan<byte> EphemeralKey => _ephemeralKey;

    public uint SignedPrekeyId { get; }

    public uint? OneTimePrekeyId { get; }

    public uint KemPrekeyId { get; }

    public ReadOnlySpan<byte> KemCiphertext => _kemCiphertext;

    /// <summary>identity (128) ‖ EK (32) ‖ u32 SPK id ‖ u8 has OPK ‖ [u32 OPK id] ‖ u32 KEM prekey id ‖ KEM ciphertext (1088).</summary>
    public void Write(WireWriter writer)
    {
        InitiatorIdentity.Write(writer);
        writer.WriteFixed(_ephemeralKey).WriteUInt32(SignedPrekeyId);
        if (OneTimePrekeyId is uint oneTime)
        {
            writer.WriteUInt8(1).WriteUInt32(oneTime);
        }
        else
        {
            writer.WriteUInt8(0);
        }

        writer.WriteUInt32(KemPrekeyId).WriteFixed(_kemCiphertext);
    }

    public static PrekeyPreamble Read(ref WireReader reader)
    {
        IdentityKey identity = IdentityKey.Read(ref reader, "preamble.identity");
        ReadOnlySpan<byte> ephemeral = reader.ReadFixed(X25519PrivateKey.PublicKeySize, "preamble.ephemeralKey");
        uint signedId = reader.ReadUInt32("preamble.signedPrekeyId");
        uint? oneTimeId = reader.ReadUInt8("preamble.hasOneTimePrekey") switch
        {
            0 => null,
            1 => reader.ReadUInt32("preamble.oneTimePrekeyId"),
            _ => throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "preamble.hasOneTimePrekey must be 0 or 1."),
        };
        uint kemId = reader.ReadUInt32("preamble.kemPrekeyId");
        ReadOnlySpan<byte> ciphertext = reader.ReadFixed(MLKem768.CiphertextSize, "preamble.kemCiphertext");
        return new PrekeyPreamble(identity, ephemeral, signedId, oneTimeId, kemId, ciphertext);
    }

    public override string ToString() =>
        $"PrekeyPreamble(signed {SignedPrekeyId}, one-time {(OneTimePrekeyId is null ? "none" : OneTimePrekeyId)}, KEM {KemPrekeyId})";
}

/// <summary>The Double Ratchet header: the sender's current ratchet public key, the previous chain's length and the message number.</summary>
internal readonly struct RatchetHeader
{
    public RatchetHeader(byte[] ratchetKey, uint previousChainLength, uint messageNumber)
    {
        RatchetKey = ratchetKey;
        PreviousChainLength = previousChainLength;
        MessageNumber = messageNumber;
    }

    public byte[] RatchetKey { get; }

    public uint PreviousChainLength { get; }

    public uint MessageNumber { get; }
}

/// <summary>
/// A ratchet message or a prekey message (a ratchet message preceded by a PQXDH preamble) on the wire.
/// </summary>
/// <remarks>
/// Layout: version (u8 = 1) ‖ type (u8: 1 ratchet, 2 prekey) ‖ [preamble, type 2 only] ‖ ratchet key (32) ‖
/// previous chain length (u32) ‖ message number (u32) ‖ ciphertext length (u32) ‖ AES-256-GCM ciphertext ‖ tag (16).
/// Everything before the ciphertext is the <see cref="Prefix"/>, which the AEAD authenticates.
/// </remarks>
internal sealed class SessionMessage
{
    public const byte FormatVersion = 1;
    public const byte TypeRatchet = 1;
    public const byte TypePrekey = 2;

    /// <summary>The largest plaintext a message may carry: 1 MiB. Attachments travel separately.</summary>
    public const int MaxPlaintextSize = 1024 * 1024;

    public const int MaxCiphertextSize = MaxPlaintextSize + Aead.TagSize;

    /// <summary>Bytes a ratchet message adds to its plaintext: version, type, header, length and tag.</summary>
    public const int RatchetOverhead = 1 + 1 + X25519PrivateKey.PublicKeySize + 4 + 4 + 4 + Aead.TagSize;

    private const int MaxPrefixSize = 1 + 1 + IdentityKey.EncodedSize + 32 + 4 + 1 + 4 + 4 + MLKem768.CiphertextSize + 32 + 4 + 4 + 4;

    /// <summary>Hard limit checked before parsing anything.</summary>
    public const int MaxEncodedSize = MaxPrefixSize + MaxCiphertextSize;

    private SessionMessage(PrekeyPreamble? preamble, RatchetHeader header, byte[] prefix, byte[] ciphertext)
    {
        Preamble = preamble;
        Header = header;
        Prefix = prefix;
        Ciphertext = ciphertext;
    }

    public PrekeyPreamble? Preamble { get; }

    public RatchetHeader Header { get; }

    /// <summary>Every byte before the ciphertext; part of the AEAD's associated data.</summary>
    public byte[] Prefix { get; }

    /// <summary>AES-256-GCM ciphertext ‖ tag.</summary>
    public byte[] Ciphertext { get; }

    /// <summary>Writes the prefix of a message whose ciphertext will be <paramref name="ciphertextLength"/> bytes.</summary>
    public static byte[] EncodePrefix(PrekeyPreamble? preamble, RatchetHeader header, int ciphertextLength)
    {
        if (ciphertextLength is < Aead.TagSize or > MaxCiphertextSize)
        {
            throw new ArgumentOutOfRangeException(nameof(ciphertextLength), $"A message carries at most {MaxPlaintextSize} bytes of plaintext.");
        }

        var writer = new WireWriter(preamble is null ? 64 : 1400);
        writer.WriteUInt8(FormatVersion).WriteUInt8(preamble is null ? TypeRatchet : TypePrekey);
        preamble?.Write(writer);
        writer.WriteFixed(header.RatchetKey).WriteUInt32(header.PreviousChainLength).WriteUInt32(header.MessageNumber).WriteUInt32((uint)ciphertextLength);
        return writer.ToArray();
    }

    /// <summary>
    /// Parses strictly. An oversize input, an unknown version or type, truncation anywhere, a ciphertext length over
    /// the limit or shorter than a tag, and trailing bytes are refused with <see cref="CryptographicFailureException"/>.
    /// </summary>
    public static SessionMessage Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"A session message may be at most {MaxEncodedSize} bytes.");
        }

        var reader = new WireReader(encoded);
        byte version = reader.ReadUInt8("message.version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Session message version {version} is not supported.");
        }

        byte type = reader.ReadUInt8("message.type");
        PrekeyPreamble? preamble = type switch
        {
            TypeRatchet => null,
            TypePrekey => PrekeyPreamble.Read(ref reader),
            _ => throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Session message type {type} is not supported."),
        };

        byte[] ratchetKey = reader.ReadFixed(X25519PrivateKey.PublicKeySize, "message.ratchetKey").ToArray();
        uint previousChainLength = reader.ReadUInt32("message.previousChainLength");
        uint messageNumber = reader.ReadUInt32("message.messageNumber");
        ReadOnlySpan<byte> ciphertext = reader.ReadBytes(MaxCiphertextSize, "message.ciphertext");
        reader.EnsureEnd();
        if (ciphertext.Length < Aead.TagSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "message.ciphertext is shorter than its tag.");
        }

        byte[] prefix = encoded[..(encoded.Length - ciphertext.Length)].ToArray();
        return new SessionMessage(preamble, new RatchetHeader(ratchetKey, previousChainLength, messageNumber), prefix, ciphertext.ToArray());
    }

    public override string ToString() =>
        $"SessionMessage({(Preamble is null ? "ratchet" : "prekey")}, n {Header.MessageNumber}, pn {Header.PreviousChainLength}, {Ciphertext.Length} bytes)";
}
