using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

/// <summary>
/// The key checks the directory applies on both sides of the wire: the relay refuses keys that do not verify against
/// the device's registered identity, and the client refuses a relay answer whose keys do not verify. One definition,
/// so the in-memory relay, the real relay and the client cannot drift apart.
/// </summary>
internal static class DirectoryKeys
{
    /// <summary>The <see cref="PublicPrekey.Write"/> encoding, as uploaded and served.</summary>
    public static byte[] Encode(PublicPrekey prekey)
    {
        ArgumentNullException.ThrowIfNull(prekey);
        var writer = new WireWriter(prekey.PublicKey.Length + prekey.Signature.Length + 32);
        prekey.Write(writer);
        return writer.ToArray();
    }

    /// <summary>Parses one encoded prekey strictly (no trailing bytes); signatures are checked by <see cref="VerifyPublication"/>.</summary>
    /// <exception cref="CryptographicFailureException">The bytes are not one well-formed prekey.</exception>
    public static PublicPrekey ParsePrekey(ReadOnlySpan<byte> encoded, string field)
    {
        var reader = new WireReader(encoded);
        PublicPrekey prekey = PublicPrekey.Read(ref reader, field);
        reader.EnsureEnd();
        return prekey;
    }

    /// <summary>Rebuilds an identity from its three parts (the relay stores them in separate columns).</summary>
    /// <exception cref="CryptographicFailureException">A part has the wrong length.</exception>
    public static IdentityKey Identity(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey, ReadOnlySpan<byte> bindingSignature)
    {
        if (signingKey.Length != Ed25519.PublicKeySize || agreementKey.Length != X25519PrivateKey.PublicKeySize || bindingSignature.Length != Ed25519.SignatureSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidLength, "An identity key needs a 32-byte signing key, a 32-byte agreement key and a 64-byte binding signature.");
        }

        return new IdentityKey(signingKey, agreementKey, bindingSignature);
    }

    /// <summary>
    /// Checks what a device publishes against its registered identity: the envelope key is signed for this device,
    /// each prekey has the role its slot requires and a valid signature. Parts that are <see langword="null"/> are not
    /// being replaced and are skipped.
    /// </summary>
    /// <exception cref="CryptographicFailureException">The first check that failed, named by field.</exception>
    public static void VerifyPublication(IdentityKey identity, DeviceId device, SignedEnvelopeKey? envelopeKey, PublicPrekey? signedPrekey, PublicPrekey? lastResortKemPrekey, IEnumerable<PublicPrekey> oneTimePrekeys)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(oneTimePrekeys);
        envelopeKey?.Verify(identity, device);
        signedPrekey?.Verify(identity.SigningKey, "signed prekey", PrekeyKind.SignedX25519);
        lastResortKemPrekey?.Verify(identity.SigningKey, "last-resort prekey", PrekeyKind.LastResortMLKem768);
        foreach (PublicPrekey prekey in oneTimePrekeys)
        {
            prekey.Verify(identity.SigningKey, "one-time prekey", PrekeyKind.OneTimeX25519, PrekeyKind.OneTimeMLKem768);
        }
    }
}

/// <summary>How relay refusals of directory calls map onto <see cref="TelehealthErrorCode"/>; shared by the in-memory and HTTP directories.</summary>
internal static class DirectoryRefusal
{
    public static RelayRequestException Create(int status, string? problemCode, string message, TimeSpan? retryAfter = null) =>
        new(ReasonFor(status), problemCode, status, message, retryAfter);

    public static TelehealthErrorCode ReasonFor(int status) => status switch
    {
        404 => TelehealthErrorCode.NotFound,
        429 => TelehealthErrorCode.RateLimited,
        >= 500 => TelehealthErrorCode.RelayUnavailable,
        _ => TelehealthErrorCode.RelayRejected,
    };
}

/// <summary>Blob ids as the relay accepts them: 16 to 64 characters of <c>A-Z a-z 0-9 _ -</c>, nothing a path could interpret.</summary>
internal static class BlobId
{
    public const int MinLength = 16;
    public const int MaxLength = 64;

    public static bool IsValid(string? blobId) =>
        blobId is { Length: >= MinLength and <= MaxLength } && blobId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public static void Validate(string? blobId, string paramName)
    {
        if (!IsValid(blobId))
        {
            throw new ArgumentException("A blob id is 16 to 64 characters of A-Z a-z 0-9 _ -.", paramName);
        }
    }
}
