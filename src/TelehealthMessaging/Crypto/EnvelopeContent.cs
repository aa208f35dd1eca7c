namespace TelehealthMessaging.Crypto;

/// <summary>
/// What a sealed envelope carries inside its HPKE ciphertext: the sender certificate and a session (ratchet or prekey)
/// message, zero-padded to an <see cref="EnvelopePadding"/> bucket.
/// </summary>
/// <remarks>Layout: version (u8 = 1) ‖ sender certificate ‖ u32 message length ‖ session message ‖ zero bytes up to the bucket.</remarks>
internal sealed class EnvelopeContent
{
    public const byte FormatVersion = 1;

    private EnvelopeContent(SenderCertificate certificate, byte[] message)
    {
        Certificate = certificate;
        Message = message;
    }

    public SenderCertificate Certificate { get; }

    /// <summary>The encoded <see cref="SessionMessage"/>; parsed by the session that decrypts it.</summary>
    public byte[] Message { get; }

    /// <summary>Encodes and pads to the smallest bucket that holds the content.</summary>
    public static byte[] EncodePadded(SenderCertificate certificate, ReadOnlySpan<byte> sessionMessage)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var writer = new WireWriter(EnvelopePadding.MinBucketSize);
        writer.WriteUInt8(FormatVersion);
        certificate.Write(writer);
        writer.WriteBytes(sessionMessage, SessionMessage.MaxEncodedSize);
        byte[] padded = new byte[EnvelopePadding.BucketFor(writer.Length)];
        writer.WrittenSpan.CopyTo(padded);
        return padded;
    }

    /// <summary>
    /// Parses strictly: the length must be exactly the smallest bucket that holds the content, the version known, every
    /// field complete, and every byte after the message zero. Anything else is <see cref="CryptographicFailureReason.MalformedEncoding"/> (or
    /// <see cref="CryptographicFailureReason.UnsupportedAlgorithm"/> for a version).
    /// </summary>
    public static EnvelopeContent Parse(ReadOnlySpan<byte> padded)
    {
        if (!EnvelopePadding.IsBucket(padded.Length))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The envelope content is not padded to a bucket size.");
        }

        var reader = new WireReader(padded);
        byte version = reader.ReadUInt8("content.version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Envelope content version {version} is not supported.");
        }

        SenderCertificate certificate = SenderCertificate.Read(ref reader);
        byte[] message = reader.ReadBytes(SessionMessage.MaxEncodedSize, "content.message").ToArray();
        if (EnvelopePadding.BucketFor(padded.Length - reader.Remaining) != padded.Length)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The envelope content is padded beyond the smallest bucket that holds it.");
        }

        if (reader.ReadFixed(reader.Remaining, "content.padding").ContainsAnyExcept((byte)0))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The envelope padding holds non-zero bytes.");
        }

        return new EnvelopeContent(certificate, message);
    }

    public override string ToString() => $"EnvelopeContent({Certificate}, {Message.Length} bytes)";
}
