namespace TelehealthMessaging.Crypto;

/// <summary>
/// What a recipient needs to decrypt and check one encrypted attachment: its fresh key, the SHA-256 digest of its
/// ciphertext and both lengths. The sender puts it inside the end-to-end encrypted message that points at the upload.
/// </summary>
/// <remarks>
/// The key is secret: keep instances out of logs. <see cref="ToString"/> prints the lengths only.
/// </remarks>
public sealed class AttachmentSecret
{
    /// <summary>The size of <see cref="Key"/> in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>The size of <see cref="Digest"/> in bytes.</summary>
    public const int DigestSize = 32;

    private readonly byte[] _key;
    private readonly byte[] _digest;

    /// <summary>Rebuilds a secret received from a peer; the bytes are copied.</summary>
    /// <param name="key">The 32-byte AES-256-GCM key.</param>
    /// <param name="digest">The 32-byte SHA-256 digest of the whole ciphertext.</param>
    /// <param name="plaintextLength">The length of the plaintext in bytes.</param>
    /// <param name="ciphertextLength">The length of the ciphertext in bytes, header included.</param>
    /// <exception cref="ArgumentException">A size is wrong or a length is negative.</exception>
    public AttachmentSecret(ReadOnlySpan<byte> key, ReadOnlySpan<byte> digest, long plaintextLength, long ciphertextLength)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"An attachment key must be {KeySize} bytes.", nameof(key));
        }

        if (digest.Length != DigestSize)
        {
            throw new ArgumentException($"An attachment digest must be {DigestSize} bytes.", nameof(digest));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        ArgumentOutOfRangeException.ThrowIfNegative(ciphertextLength);
        _key = key.ToArray();
        _digest = digest.ToArray();
        PlaintextLength = plaintextLength;
        CiphertextLength = ciphertextLength;
    }

    /// <summary>The 32-byte AES-256-GCM key, used for this attachment only.</summary>
    public ReadOnlyMemory<byte> Key => _key;

    /// <summary>The SHA-256 digest of the whole ciphertext, header included.</summary>
    public ReadOnlyMemory<byte> Digest => _digest;

    /// <summary>The length of the plaintext in bytes.</summary>
    public long PlaintextLength { get; }

    /// <summary>The length of the ciphertext in bytes, header included.</summary>
    public long CiphertextLength { get; }

    /// <summary>Describes the secret by its lengths; never prints the key or digest.</summary>
    /// <returns>A description free of key material.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"AttachmentSecret(plaintext {PlaintextLength} bytes, ciphertext {CiphertextLength} bytes)");
}
