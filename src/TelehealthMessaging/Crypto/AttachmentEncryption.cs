using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// Encrypts and decrypts attachments of any size in constant memory with the STREAM construction over AES-256-GCM:
/// a fresh key per attachment, fixed-size chunks, and a per-chunk nonce made of a random prefix, the chunk index and a
/// final-chunk flag, so truncation, reordering, duplication and extension are all detected.
/// </summary>
/// <remarks>
/// <para>
/// Format (docs/attachments.md has it byte by byte): a 12-byte header <c>version(1) ‖ chunk size(4, big-endian) ‖
/// nonce prefix(7)</c>, then chunks of <c>ciphertext ‖ 16-byte tag</c>. Every chunk but the last holds exactly the chunk
/// size of plaintext; the last holds less (possibly nothing) and is sealed with the final flag. The header is the
/// associated data of every chunk. The digest is SHA-256 over every ciphertext byte, header included.
/// </para>
/// <para>
/// Every refusal is a <see cref="TelehealthException"/> with <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>.
/// Buffers come from <see cref="ArrayPool{T}"/> and are cleared before they go back; neither stream is buffered whole.
/// </para>
/// </remarks>
public static class AttachmentEncryption
{
    internal const byte FormatVersion = 1;
    internal const int DefaultChunkSize = 64 * 1024;
    internal const int NoncePrefixSize = 7;
    internal const int HeaderSize = 1 + sizeof(uint) + NoncePrefixSize;

    // Bounds on a chunk size read from an untrusted header: the decryptor rents two buffers of about this size.
    internal const int MinChunkSize = 16;
    internal const int MaxChunkSize = 1024 * 1024;

    private const byte NotFinal = 0;
    private const byte Final = 1;

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> under a fresh random key, writing the ciphertext to
    /// <paramref name="ciphertext"/> in 64 KiB chunks.
    /// </summary>
    /// <param name="plaintext">A readable stream, read to its end; it need not be seekable.</param>
    /// <param name="ciphertext">A writable stream; it need not be seekable.</param>
    /// <param name="cancellationToken">Cancels the operation; what was written so far must then be discarded.</param>
    /// <returns>The key, the ciphertext digest and both lengths, to send to the recipients end-to-end encrypted.</returns>
    /// <exception cref="ArgumentException">A stream cannot be read or written as needed.</exception>
    public static Task<AttachmentSecret> EncryptAsync(Stream plaintext, Stream ciphertext, CancellationToken cancellationToken = default) =>
        EncryptAsync(plaintext, ciphertext, DefaultChunkSize, cancellationToken);

    /// <summary>
    /// Decrypts an attachment, checking every chunk before writing its plaintext and the digest and lengths before
    /// writing the final chunk.
    /// </summary>
    /// <param name="ciphertext">A readable stream positioned at the start of the ciphertext, read to its end.</param>
    /// <param name="plaintext">A writable stream that receives the plaintext.</param>
    /// <param name="secret">The key, digest and lengths the sender shared.</param>
    /// <param name="cancellationToken">Cancels the operation; what was written so far must then be discarded.</param>
    /// <returns>A task that completes when the whole attachment was verified and written.</returns>
    /// <remarks>
    /// Chunks are written as they verify, so when this method throws, <paramref name="plaintext"/> may already hold
    /// verified chunks of an attachment that turned out truncated, extended or not the one the digest names:
    /// <b>discard everything written when it throws</b> (decrypt to a temporary file and move it into place only on
    /// success). When the ciphertext is seekable, calling <see cref="VerifyDigestAsync"/> first and rewinding costs one
    /// extra read and means nothing is written for ciphertext that is not the expected one.
    /// </remarks>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the header is malformed, a chunk fails
    /// authentication (wrong key, altered, reordered or duplicated chunk), the stream ends without its final chunk,
    /// bytes follow the final chunk, or the digest or a length differs from <paramref name="secret"/>.
    /// </exception>
    /// <exception cref="ArgumentException">A stream cannot be read or written as needed.</exception>
    public static async Task DecryptAsync(Stream ciphertext, Stream plaintext, AttachmentSecret secret, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(secret);
        RequireReadable(ciphertext, nameof(ciphertext));
        RequireWritable(plaintext, nameof(plaintext));

        byte[] header = new byte[HeaderSize];
        int headerRead = await ciphertext.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        int chunkSize = ParseHeader(header.AsSpan(0, headerRead));

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        long ciphertextLength = HeaderSize;
        long plaintextLength = 0;

        int sealedChunkSize = chunkSize + Aead.TagSize;
        byte[] sealedBuffer = ArrayPool<byte>.Shared.Rent(sealedChunkSize);
        byte[] plainBuffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        byte[] nonce = new byte[Aead.NonceSize];
        byte[] key = secret.Key.ToArray();
        try
        {
            for (uint index = 0; ; index++)
            {
                int read = await ciphertext.ReadAtLeastAsync(sealedBuffer.AsMemory(0, sealedChunkSize), sealedChunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                ciphertextLength += read;
                if (ciphertextLength > secret.CiphertextLength)
                {
                    // Caught before decrypting, so an extended stream writes nothing more.
                    throw Malformed("The attachment is longer than its declared length.");
                }

                hash.AppendData(sealedBuffer, 0, read);

                // Only the last chunk is short, and a short read only happens at the end of the stream.
                bool final = read < sealedChunkSize;
                if (final && read < Aead.TagSize)
                {
                    throw Malformed("The attachment ends without its final chunk.");
                }

                int plainLength = read - Aead.TagSize;
                WriteNonce(header, index, final ? Final : NotFinal, nonce);
                Aead.Aes256Gcm.Open(key, nonce, sealedBuffer.AsSpan(0, read), header, plainBuffer.AsSpan(0, plainLength));
                plaintextLength += plainLength;

                if (final)
                {
                    CheckDigestAndLengths(hash, secret, ciphertextLength, plaintextLength);
                    await plaintext.WriteAsync(plainBuffer.AsMemory(0, plainLength), cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (index == uint.MaxValue)
                {
                    throw Malformed("The attachment has more chunks than its nonce can count.");
                }

                await plaintext.WriteAsync(plainBuffer.AsMemory(0, plainLength), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            ReturnCleared(sealedBuffer, sealedChunkSize);
            ReturnCleared(plainBuffer, chunkSize);
        }
    }

    /// <summary>
    /// Reads <paramref name="ciphertext"/> to its end and checks its length and SHA-256 digest against
    /// <paramref name="secret"/> without decrypting anything.
    /// </summary>
    /// <param name="ciphertext">A readable stream positioned at the start of the ciphertext.</param>
    /// <param name="secret">The digest and length the sender shared.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the ciphertext matched.</returns>
    /// <remarks>
    /// Use it before <see cref="DecryptAsync"/> when the ciphertext is seekable (a downloaded file): rewind and decrypt
    /// only after it succeeds. The file must not change in between; keep it where only this app can write it.
    /// </remarks>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the length or digest differs.
    /// </exception>
    public static async Task VerifyDigestAsync(Stream ciphertext, AttachmentSecret secret, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        ArgumentNullException.ThrowIfNull(secret);
        RequireReadable(ciphertext, nameof(ciphertext));

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(DefaultChunkSize);
        try
        {
            long length = 0;
            int read;
            while ((read = await ciphertext.ReadAsync(buffer.AsMemory(0, DefaultChunkSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
                if (length > secret.CiphertextLength)
                {
                    throw Malformed("The attachment is longer than its declared length.");
                }

                hash.AppendData(buffer, 0, read);
            }

            CheckDigestAndLengths(hash, secret, length, plaintextLength: null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Encrypts with a chosen chunk size; tests use small chunks to cover many boundaries cheaply.</summary>
    internal static async Task<AttachmentSecret> EncryptAsync(Stream plaintext, Stream ciphertext, int chunkSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(ciphertext);
        RequireReadable(plaintext, nameof(plaintext));
        RequireWritable(ciphertext, nameof(ciphertext));
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, MinChunkSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSize, MaxChunkSize);

        byte[] header = new byte[HeaderSize];
        header[0] = FormatVersion;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1, sizeof(uint)), (uint)chunkSize);
        RandomNumberGenerator.Fill(header.AsSpan(1 + sizeof(uint), NoncePrefixSize));

        int sealedChunkSize = chunkSize + Aead.TagSize;
        byte[] key = RandomNumberGenerator.GetBytes(Aead.KeySize);
        byte[] plainBuffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        byte[] sealedBuffer = ArrayPool<byte>.Shared.Rent(sealedChunkSize);
        byte[] nonce = new byte[Aead.NonceSize];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            await ciphertext.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            hash.AppendData(header);
            long ciphertextLength = HeaderSize;
            long plaintextLength = 0;

            for (uint index = 0; ; index++)
            {
                int read = await plaintext.ReadAtLeastAsync(plainBuffer.AsMemory(0, chunkSize), chunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

                // A full chunk is never final: when the plaintext is a whole number of chunks, an empty final chunk
                // follows, so the encryptor needs no look-ahead and the decryptor can tell the last chunk by its size.
                bool final = read < chunkSize;
                if (!final && index == uint.MaxValue)
                {
                    throw new ArgumentException("The plaintext is longer than an attachment can be (2^32 chunks).", nameof(plaintext));
                }

                WriteNonce(header, index, final ? Final : NotFinal, nonce);
                int sealedLength = read + Aead.TagSize;
                Aead.Aes256Gcm.Seal(key, nonce, plainBuffer.AsSpan(0, read), header, sealedBuffer.AsSpan(0, sealedLength));
                hash.AppendData(sealedBuffer, 0, sealedLength);
                await ciphertext.WriteAsync(sealedBuffer.AsMemory(0, sealedLength), cancellationToken).ConfigureAwait(false);
                ciphertextLength += sealedLength;
                plaintextLength += read;

                if (final)
                {
                    break;
                }
            }

            Span<byte> digest = stackalloc byte[AttachmentSecret.DigestSize];
            hash.GetHashAndReset(digest);
            return new AttachmentSecret(key, digest, plaintextLength, ciphertextLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            ReturnCleared(plainBuffer, chunkSize);
            ReturnCleared(sealedBuffer, sealedChunkSize);
        }
    }

    /// <summary>The ciphertext length for a plaintext length and chunk size: header, full chunks, then the short final chunk.</summary>
    internal static long GetCiphertextLength(long plaintextLength, int chunkSize) =>
        HeaderSize + plaintextLength + ((plaintextLength / chunkSize) + 1) * Aead.TagSize;

    private static int ParseHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderSize)
        {
            throw Malformed("The attachment ends inside its header.");
        }

        if (header[0] != FormatVersion)
        {
            throw Malformed("The attachment has an unsupported format version.");
        }

        uint chunkSize = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1, sizeof(uint)));
        if (chunkSize is < MinChunkSize or > MaxChunkSize)
        {
            throw Malformed("The attachment header declares a chunk size out of range.");
        }

        return (int)chunkSize;
    }

    // nonce = prefix(7) ‖ chunk index (4, big-endian) ‖ final flag (1)
    private static void WriteNonce(ReadOnlySpan<byte> header, uint index, byte flag, Span<byte> nonce)
    {
        header.Slice(1 + sizeof(uint), NoncePrefixSize).CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce.Slice(NoncePrefixSize, sizeof(uint)), index);
        nonce[Aead.NonceSize - 1] = flag;
    }

    private static void CheckDigestAndLengths(IncrementalHash hash, AttachmentSecret secret, long ciphertextLength, long? plaintextLength)
    {
        if (ciphertextLength != secret.CiphertextLength)
        {
            throw Malformed("The attachment's length differs from its declared length.");
        }

        Span<byte> digest = stackalloc byte[AttachmentSecret.DigestSize];
        hash.GetHashAndReset(digest);
        if (!CryptographicOperations.FixedTimeEquals(digest, secret.Digest.Span))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "The attachment's digest differs from the expected digest.");
        }

        if (plaintextLength is long length && length != secret.PlaintextLength)
        {
            throw Malformed("The attachment's plaintext length differs from its declared length.");
        }
    }

    private static void RequireReadable(Stream stream, string parameterName)
    {
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable.", parameterName);
        }
    }

    private static void RequireWritable(Stream stream, string parameterName)
    {
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream must be writable.", parameterName);
        }
    }

    private static void ReturnCleared(byte[] buffer, int usedLength)
    {
        CryptographicOperations.ZeroMemory(buffer.AsSpan(0, usedLength));
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private static CryptographicFailureException Malformed(string message) =>
        new(CryptographicFailureReason.MalformedEncoding, message);
}
