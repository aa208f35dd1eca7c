using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// HPKE (RFC 9180) in base mode with the single suite the protocol uses: DHKEM(X25519, HKDF-SHA256) (KEM 0x0020),
/// HKDF-SHA256 (KDF 0x0001) and ChaCha20-Poly1305 (AEAD 0x0003).
/// </summary>
/// <remarks>
/// BouncyCastle.Cryptography 2.7.0 ships no HPKE, so this composes RFC 9180 §4–§5 from <see cref="X25519PrivateKey"/>,
/// <see cref="HkdfSha256"/> and <see cref="Aead.ChaCha20Poly1305"/>; no primitive is implemented here.
/// </remarks>
internal static class Hpke
{
    public const ushort KemId = 0x0020;
    public const ushort KdfId = 0x0001;
    public const ushort AeadId = 0x0003;

    /// <summary>Nenc: the size of the encapsulated key (the sender's ephemeral X25519 public key).</summary>
    public const int EncapsulatedKeySize = 32;

    /// <summary>Nk, Nn, Nh and Nsecret of the suite.</summary>
    internal const int KeySize = 32;
    internal const int NonceSize = 12;
    internal const int HashSize = 32;
    internal const int SharedSecretSize = 32;

    /// <summary>The largest export length: 255 × Nh (RFC 9180 §5.3).</summary>
    public const int MaxExportSize = 255 * HashSize;

    private const byte ModeBase = 0x00;

    private static readonly byte[] VersionLabel = "HPKE-v1"u8.ToArray();
    private static readonly byte[] KemSuiteId = [.. "KEM"u8, 0x00, 0x20];
    private static readonly byte[] HpkeSuiteId = [.. "HPKE"u8, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];

    /// <summary>SetupBaseS: encapsulates to <paramref name="recipientPublicKey"/> with a fresh ephemeral key.</summary>
    public static HpkeSenderContext SetupBaseS(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, out byte[] encapsulatedKey)
    {
        using X25519PrivateKey ephemeral = X25519PrivateKey.Generate();
        return SetupBaseS(recipientPublicKey, info, ephemeral, out encapsulatedKey);
    }

    /// <summary>SetupBaseS with a given ephemeral key; tests use it to reproduce RFC 9180 Appendix A.</summary>
    internal static HpkeSenderContext SetupBaseS(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, X25519PrivateKey ephemeral, out byte[] encapsulatedKey)
    {
        Span<byte> sharedSecret = stackalloc byte[SharedSecretSize];
        try
        {
            encapsulatedKey = Encap(recipientPublicKey, ephemeral, sharedSecret);
            return new HpkeSenderContext(KeySchedule(sharedSecret, info));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>SetupBaseR: decapsulates <paramref name="encapsulatedKey"/> with the recipient's private key.</summary>
    public static HpkeRecipientContext SetupBaseR(ReadOnlySpan<byte> encapsulatedKey, X25519PrivateKey recipientKey, ReadOnlySpan<byte> info)
    {
        ArgumentNullException.ThrowIfNull(recipientKey);
        Span<byte> sharedSecret = stackalloc byte[SharedSecretSize];
        try
        {
            Decap(encapsulatedKey, recipientKey, sharedSecret);
            return new HpkeRecipientContext(KeySchedule(sharedSecret, info));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>Single-shot Seal (RFC 9180 §6.1): returns the encapsulated key and <c>ciphertext ‖ tag</c>.</summary>
    public static (byte[] EncapsulatedKey, byte[] Ciphertext) Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        using HpkeSenderContext context = SetupBaseS(recipientPublicKey, info, out byte[] encapsulatedKey);
        return (encapsulatedKey, context.Seal(associatedData, plaintext));
    }

    /// <summary>Single-shot Open (RFC 9180 §6.1). Throws <see cref="CryptographicFailureException"/> on any failure.</summary>
    public static byte[] Open(ReadOnlySpan<byte> encapsulatedKey, X25519PrivateKey recipientKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext)
    {
        using HpkeRecipientContext context = SetupBaseR(encapsulatedKey, recipientKey, info);
        return context.Open(associatedData, ciphertext);
    }

    /// <summary>DeriveKeyPair for X25519 (RFC 9180 §7.1.3): a deterministic key from input keying material.</summary>
    internal static X25519PrivateKey DeriveKeyPair(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> prk = stackalloc byte[HashSize];
        Span<byte> privateKey = stackalloc byte[X25519PrivateKey.KeySize];
        try
        {
            LabeledExtract(KemSuiteId, [], "dkp_prk"u8, inputKeyMaterial, prk);
            LabeledExpand(KemSuiteId, prk, "sk"u8, [], privateKey);
            return X25519PrivateKey.Import(privateKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <summary>The key schedule of RFC 9180 §5.1 for base mode (empty PSK and PSK id).</summary>
    internal static HpkeKeySchedule KeySchedule(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info)
    {
        byte[] keyScheduleContext = new byte[1 + HashSize + HashSize];
        keyScheduleContext[0] = ModeBase;
        LabeledExtract(HpkeSuiteId, [], "psk_id_hash"u8, [], keyScheduleContext.AsSpan(1, HashSize));
        LabeledExtract(HpkeSuiteId, [], "info_hash"u8, info, keyScheduleContext.AsSpan(1 + HashSize, HashSize));

        byte[] secret = new byte[HashSize];
        LabeledExtract(HpkeSuiteId, sharedSecret, "secret"u8, [], secret);

        byte[] key = new byte[KeySize];
        byte[] baseNonce = new byte[NonceSize];
        byte[] exporterSecret = new byte[HashSize];
        LabeledExpand(HpkeSuiteId, secret, "key"u8, keyScheduleContext, key);
        LabeledExpand(HpkeSuiteId, secret, "base_nonce"u8, keyScheduleContext, baseNonce);
        LabeledExpand(HpkeSuiteId, secret, "exp"u8, keyScheduleContext, exporterSecret);
        return new HpkeKeySchedule(keyScheduleContext, secret, key, baseNonce, exporterSecret);
    }

    /// <summary>Export (RFC 9180 §5.3): LabeledExpand(exporter_secret, "sec", exporter_context, L).</summary>
    internal static void Export(ReadOnlySpan<byte> exporterSecret, ReadOnlySpan<byte> exporterContext, Span<byte> destination)
    {
        if (destination.Length is < 1 or > MaxExportSize)
        {
            throw new ArgumentException($"An HPKE export must be 1 to {MaxExportSize} bytes.", nameof(destination));
        }

        LabeledExpand(HpkeSuiteId, exporterSecret, "sec"u8, exporterContext, destination);
    }

    /// <summary>DHKEM Encap (RFC 9180 §4.1): writes shared_secret and returns enc (the ephemeral public key).</summary>
    internal static byte[] Encap(ReadOnlySpan<byte> recipientPublicKey, X25519PrivateKey ephemeral, Span<byte> sharedSecret)
    {
        if (recipientPublicKey.Length != X25519PrivateKey.PublicKeySize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, "An HPKE recipient public key", X25519PrivateKey.PublicKeySize, recipientPublicKey.Length);
        }

        byte[] encapsulatedKey = ephemeral.PublicKey.ToArray();
        Span<byte> dh = stackalloc byte[X25519PrivateKey.SharedSecretSize];
        try
        {
            ephemeral.DeriveSharedSecret(recipientPublicKey, dh);
            ExtractAndExpand(dh, encapsulatedKey, recipientPublicKey, sharedSecret);
            return encapsulatedKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>DHKEM Decap (RFC 9180 §4.1): writes shared_secret for enc under the recipient's key.</summary>
    internal static void Decap(ReadOnlySpan<byte> encapsulatedKey, X25519PrivateKey recipientKey, Span<byte> sharedSecret)
    {
        if (encapsulatedKey.Length != EncapsulatedKeySize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, "An HPKE encapsulated key", EncapsulatedKeySize, encapsulatedKey.Length);
        }

        Span<byte> dh = stackalloc byte[X25519PrivateKey.SharedSecretSize];
        try
        {
            recipientKey.DeriveSharedSecret(encapsulatedKey, dh);
            ExtractAndExpand(dh, encapsulatedKey, recipientKey.PublicKey, sharedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>DHKEM ExtractAndExpand (RFC 9180 §4.1) with kem_context = enc ‖ pkRm.</summary>
    private static void ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> encapsulatedKey, ReadOnlySpan<byte> recipientPublicKey, Span<byte> sharedSecret)
    {
        Span<byte> kemContext = stackalloc byte[EncapsulatedKeySize + X25519PrivateKey.PublicKeySize];
        encapsulatedKey.CopyTo(kemContext);
        recipientPublicKey.CopyTo(kemContext[EncapsulatedKeySize..]);

        Span<byte> prk = stackalloc byte[HashSize];
        try
        {
            LabeledExtract(KemSuiteId, [], "eae_prk"u8, dh, prk);
            LabeledExpand(KemSuiteId, prk, "shared_secret"u8, kemContext, sharedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
        }
    }

    /// <summary>LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm).</summary>
    private static void LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> inputKeyMaterial, Span<byte> pseudorandomKey)
    {
        byte[] labeled = new byte[VersionLabel.Length + suiteId.Length + label.Length + inputKeyMaterial.Length];
        try
        {
            Span<byte> cursor = labeled;
            cursor = Append(cursor, VersionLabel);
            cursor = Append(cursor, suiteId);
            cursor = Append(cursor, label);
            Append(cursor, inputKeyMaterial);
            HkdfSha256.Extract(labeled, salt, pseudorandomKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(labeled);
        }
    }

    /// <summary>LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L).</summary>
    private static void LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> pseudorandomKey, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, Span<byte> output)
    {
        byte[] labeled = new byte[2 + VersionLabel.Length + suiteId.Length + label.Length + info.Length];
        BinaryPrimitives.WriteUInt16BigEndian(labeled, checked((ushort)output.Length));
        Span<byte> cursor = labeled.AsSpan(2);
        cursor = Append(cursor, VersionLabel);
        cursor = Append(cursor, suiteId);
        cursor = Append(cursor, label);
        Append(cursor, info);
        HkdfSha256.Expand(pseudorandomKey, labeled, output);
    }

    private static Span<byte> Append(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        value.CopyTo(destination);
        return destination[value.Length..];
    }
}
