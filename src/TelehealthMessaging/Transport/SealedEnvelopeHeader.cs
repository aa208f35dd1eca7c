namespace TelehealthMessaging.Transport;

/// <summary>Why <see cref="SealedEnvelopeHeader.TryParse"/> refused an envelope.</summary>
internal enum SealedEnvelopeHeaderError
{
    /// <summary>The header is well formed.</summary>
    None = 0,

    /// <summary>The envelope ends before its header does.</summary>
    Truncated,

    /// <summary>The first byte names a format version this code does not know.</summary>
    UnknownVersion,

    /// <summary>The recipient length byte is 0 or larger than 64.</summary>
    InvalidRecipientLength,

    /// <summary>The recipient bytes are not a valid <see cref="DeviceId"/>.</summary>
    InvalidRecipient,

    /// <summary>The HPKE ciphertext is shorter than one AEAD tag.</summary>
    CiphertextTooShort,
}

/// <summary>
/// The cleartext header of a sealed envelope, the only part of an envelope the relay reads.
/// </summary>
/// <remarks>
/// Layout of format version 1: <c>u8 version (=1) ‖ u8 n (1..64) ‖ n ASCII bytes recipient DeviceId ‖
/// 32 bytes HPKE encapsulated key (X25519) ‖ HPKE ciphertext (at least one 16-byte AEAD tag)</c>.
/// The recipient is in cleartext because the relay must route the envelope; everything else is sealed to the
/// recipient's key, including who sent it.
/// </remarks>
internal readonly record struct SealedEnvelopeHeader
{
    public const byte Version1 = 1;
    public const int EncapsulatedKeySize = 32;
    public const int MinCiphertextSize = 16;

    private SealedEnvelopeHeader(byte version, DeviceId recipient, int encapsulatedKeyOffset)
    {
        Version = version;
        Recipient = recipient;
        EncapsulatedKeyOffset = encapsulatedKeyOffset;
    }

    /// <summary>The format version (1).</summary>
    public byte Version { get; }

    /// <summary>The device whose mailbox the envelope is for.</summary>
    public DeviceId Recipient { get; }

    /// <summary>Offset of the 32-byte HPKE encapsulated key in the envelope.</summary>
    public int EncapsulatedKeyOffset { get; }

    /// <summary>Offset of the HPKE ciphertext in the envelope; it runs to the end.</summary>
    public int CiphertextOffset => EncapsulatedKeyOffset + EncapsulatedKeySize;

    /// <summary>Smallest well-formed envelope: a one-character recipient and a bare AEAD tag.</summary>
    public static int MinEnvelopeSize => 2 + 1 + EncapsulatedKeySize + MinCiphertextSize;

    /// <summary>Writes a version 1 header for <paramref name="recipient"/> followed by nothing else.</summary>
    public static byte[] WriteVersion1Prefix(DeviceId recipient)
    {
        string id = recipient.Value ?? throw new ArgumentException("The recipient is the default value.", nameof(recipient));
        byte[] prefix = new byte[2 + id.Length];
        prefix[0] = Version1;
        prefix[1] = (byte)id.Length;
        for (int i = 0; i < id.Length; i++)
        {
            prefix[2 + i] = (byte)id[i];
        }

        return prefix;
    }

    /// <summary>
    /// Parses the header strictly. Never throws for untrusted bytes: a malformed envelope yields
    /// <see langword="false"/> and the reason in <paramref name="error"/>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> envelope, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error)
    {
        header = default;
        if (envelope.Length < 2)
        {
            error = SealedEnvelopeHeaderError.Truncated;
            return false;
        }

        if (envelope[0] != Version1)
        {
            error = SealedEnvelopeHeaderError.UnknownVersion;
            return false;
        }

        int length = envelope[1];
        if (length is 0 or > Identifier.MaxLength)
        {
            error = SealedEnvelopeHeaderError.InvalidRecipientLength;
            return false;
        }

        if (envelope.Length < 2 + length + EncapsulatedKeySize)
        {
            error = SealedEnvelopeHeaderError.Truncated;
            return false;
        }

        ReadOnlySpan<byte> idBytes = envelope.Slice(2, length);
        Span<char> chars = stackalloc char[Identifier.MaxLength];
        for (int i = 0; i < idBytes.Length; i++)
        {
            byte b = idBytes[i];
            // Only the FHIR id alphabet; checking bytes first keeps non-ASCII from being widened into something valid.
            if (!(b is (byte)'-' or (byte)'.' || (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')))
            {
                error = SealedEnvelopeHeaderError.InvalidRecipient;
                return false;
            }

            chars[i] = (char)b;
        }

        string id = new(chars[..length]);
        if (!Identifier.IsValid(id))
        {
            error = SealedEnvelopeHeaderError.InvalidRecipient;
            return false;
        }

        int keyOffset = 2 + length;
        if (envelope.Length - keyOffset - EncapsulatedKeySize < MinCiphertextSize)
        {
            error = SealedEnvelopeHeaderError.CiphertextTooShort;
            return false;
        }

        header = new SealedEnvelopeHeader(Version1, new DeviceId(id), keyOffset);
        error = SealedEnvelopeHeaderError.None;
        return true;
    }
}
