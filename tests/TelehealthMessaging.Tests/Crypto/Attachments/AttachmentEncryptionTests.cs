using System.Security.Cryptography;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Attachments;

public class AttachmentEncryptionTests
{
    // Small chunks put many boundaries inside a few hundred bytes.
    private const int Chunk = 32;
    private const int Tag = 16;
    private const int Header = AttachmentEncryption.HeaderSize;

    public static TheoryData<int> SmallChunkSizes => new() { 0, 1, Chunk - 1, Chunk, Chunk + 1, 2 * Chunk, (3 * Chunk) + 7 };

    public static TheoryData<int> DefaultChunkSizes => new() { 0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_003 };

    [Theory]
    [MemberData(nameof(SmallChunkSizes))]
    public async Task Round_trip_restores_the_plaintext_with_small_chunks(int size)
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(plaintext, Chunk);

        Assert.Equal(AttachmentEncryption.GetCiphertextLength(size, Chunk), ciphertext.Length);
        Assert.Equal(size, secret.PlaintextLength);
        Assert.Equal(ciphertext.Length, secret.CiphertextLength);
        Assert.Equal(SHA256.HashData(ciphertext), secret.Digest.ToArray());
        Assert.Equal(plaintext, await DecryptAsync(ciphertext, secret));
    }

    [Theory]
    [MemberData(nameof(DefaultChunkSizes))]
    public async Task Round_trip_restores_the_plaintext_with_64_KiB_chunks(int size)
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);
        using var source = new MemoryStream(plaintext);
        using var sink = new MemoryStream();
        AttachmentSecret secret = await AttachmentEncryption.EncryptAsync(new ForwardOnlyStream(source), new ForwardOnlyStream(sink));
        byte[] ciphertext = sink.ToArray();

        Assert.Equal(AttachmentEncryption.GetCiphertextLength(size, 64 * 1024), ciphertext.Length);
        Assert.Equal(64 * 1024, (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ciphertext.AsSpan(1, 4)));
        Assert.Equal(plaintext, await DecryptAsync(ciphertext, secret));
    }

    [Fact]
    public async Task Encrypting_the_same_plaintext_twice_uses_a_fresh_key_and_nonce_prefix()
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(100);
        (byte[] first, AttachmentSecret firstSecret) = await EncryptAsync(plaintext, Chunk);
        (byte[] second, AttachmentSecret secondSecret) = await EncryptAsync(plaintext, Chunk);

        Assert.NotEqual(firstSecret.Key.ToArray(), secondSecret.Key.ToArray());
        Assert.NotEqual(first.AsSpan(5, 7).ToArray(), second.AsSpan(5, 7).ToArray());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task Decrypt_rejects_every_truncation_even_when_digest_and_length_are_forged_to_match()
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes((3 * Chunk) + 5);
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(plaintext, Chunk);

        for (int length = 0; length < ciphertext.Length; length++)
        {
            byte[] truncated = ciphertext[..length];
            var failure = await AssertRefusedAsync(truncated, Forge(secret, truncated));
            bool atChunkBoundary = length >= Header && (length - Header) % (Chunk + Tag) == 0;
            if (atChunkBoundary || length < Header)
            {
                Assert.Equal(CryptographicFailureReason.MalformedEncoding, failure.Reason);
            }
        }
    }

    [Fact]
    public async Task Decrypt_reports_a_stream_that_stops_after_a_full_chunk_as_missing_its_final_chunk()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(2 * Chunk), Chunk);
        byte[] withoutFinal = ciphertext[..(Header + (2 * (Chunk + Tag)))];

        var failure = await AssertRefusedAsync(withoutFinal, Forge(secret, withoutFinal));

        Assert.Equal(CryptographicFailureReason.MalformedEncoding, failure.Reason);
        Assert.Contains("final chunk", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decrypt_rejects_swapped_chunks()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes((3 * Chunk) + 5), Chunk);
        byte[] swapped = (byte[])ciphertext.Clone();
        ChunkAt(ciphertext, 0).CopyTo(swapped.AsSpan(Header + Chunk + Tag));
        ChunkAt(ciphertext, 1).CopyTo(swapped.AsSpan(Header));

        var failure = await AssertRefusedAsync(swapped, Forge(secret, swapped));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
    }

    [Fact]
    public async Task Decrypt_rejects_a_duplicated_chunk()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes((2 * Chunk) + 5), Chunk);
        int secondChunk = Header + Chunk + Tag;
        byte[] duplicated = [.. ciphertext[..secondChunk], .. ChunkAt(ciphertext, 0), .. ciphertext[secondChunk..]];

        var failure = await AssertRefusedAsync(duplicated, Forge(secret, duplicated));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
    }

    [Fact]
    public async Task Decrypt_rejects_a_full_chunk_cut_short_to_pose_as_the_final_one()
    {
        // The final flag is in the nonce: a short final chunk cannot stand in for a full one, nor a full one for the final.
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(2 * Chunk), Chunk);
        byte[] firstChunkOnly = ciphertext[..(Header + Chunk + Tag - 1)];

        await AssertRefusedAsync(firstChunkOnly, Forge(secret, firstChunkOnly));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(Tag)]
    [InlineData(Chunk + Tag)]
    public async Task Decrypt_rejects_bytes_appended_after_the_final_chunk(int extra)
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(Chunk + 3);
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(plaintext, Chunk);
        byte[] extended = [.. ciphertext, .. RandomNumberGenerator.GetBytes(extra)];

        await AssertRefusedAsync(extended, secret);
        await AssertRefusedAsync(extended, Forge(secret, extended));
    }

    [Fact]
    public async Task Decrypt_rejects_a_flipped_bit_anywhere_in_header_chunks_or_tags()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes((2 * Chunk) + 9), Chunk);

        for (int position = 0; position < ciphertext.Length; position++)
        {
            byte[] altered = (byte[])ciphertext.Clone();
            altered[position] ^= 0x04;

            await AssertRefusedAsync(altered, secret);
            await AssertRefusedAsync(altered, Forge(secret, altered));
        }
    }

    [Fact]
    public async Task Decrypt_rejects_a_wrong_key_before_writing_anything()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(3 * Chunk), Chunk);
        var wrongKey = new AttachmentSecret(RandomNumberGenerator.GetBytes(32), secret.Digest.Span, secret.PlaintextLength, secret.CiphertextLength);
        using var output = new MemoryStream();

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(
            () => AttachmentEncryption.DecryptAsync(new MemoryStream(ciphertext), output, wrongKey));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public async Task Decrypt_with_a_wrong_digest_fails_and_withholds_the_final_chunk()
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes((2 * Chunk) + 10);
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(plaintext, Chunk);
        byte[] otherDigest = secret.Digest.ToArray();
        otherDigest[0] ^= 1;
        var wrongDigest = new AttachmentSecret(secret.Key.Span, otherDigest, secret.PlaintextLength, secret.CiphertextLength);
        using var output = new MemoryStream();

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(
            () => AttachmentEncryption.DecryptAsync(new MemoryStream(ciphertext), output, wrongDigest));

        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        Assert.Equal(2 * Chunk, output.Length);
    }

    [Fact]
    public async Task Decrypt_rejects_a_declared_plaintext_length_that_differs()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(40), Chunk);
        var lying = new AttachmentSecret(secret.Key.Span, secret.Digest.Span, secret.PlaintextLength + 1, secret.CiphertextLength);

        await AssertRefusedAsync(ciphertext, lying);
    }

    [Theory]
    [InlineData(2u, Chunk)]
    [InlineData(1u, 8)]
    [InlineData(1u, (1024 * 1024) + 1)]
    public async Task Decrypt_rejects_an_unsupported_version_or_chunk_size(uint version, int chunkSize)
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(10), Chunk);
        ciphertext[0] = (byte)version;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ciphertext.AsSpan(1, 4), (uint)chunkSize);

        var failure = await AssertRefusedAsync(ciphertext, Forge(secret, ciphertext));

        Assert.Equal(CryptographicFailureReason.MalformedEncoding, failure.Reason);
    }

    [Fact]
    public async Task VerifyDigest_accepts_the_ciphertext_and_refuses_any_other()
    {
        (byte[] ciphertext, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(100), Chunk);
        byte[] altered = (byte[])ciphertext.Clone();
        altered[^1] ^= 1;

        await AttachmentEncryption.VerifyDigestAsync(new MemoryStream(ciphertext), secret);
        await Assert.ThrowsAsync<CryptographicFailureException>(() => AttachmentEncryption.VerifyDigestAsync(new MemoryStream(altered), secret));
        await Assert.ThrowsAsync<CryptographicFailureException>(() => AttachmentEncryption.VerifyDigestAsync(new MemoryStream(ciphertext[..^1]), secret));
        await Assert.ThrowsAsync<CryptographicFailureException>(() => AttachmentEncryption.VerifyDigestAsync(new MemoryStream([.. ciphertext, 0]), secret));
    }

    [Fact]
    public async Task Fifty_megabytes_encrypt_and_decrypt_through_forward_only_streams_in_constant_memory()
    {
        const long size = 50L * 1024 * 1024;
        string path = Path.Combine(Path.GetTempPath(), $"attachment-{Guid.NewGuid():N}.bin");
        try
        {
            using var expected = new HashingSink();
            await new GeneratedStream(size, seed: 7).CopyToAsync(expected);
            byte[] expectedHash = expected.GetHash();

            AttachmentSecret secret;
            long encryptAllocated;
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                var source = new GeneratedStream(size, seed: 7);
                var sink = new ForwardOnlyStream(file);
                long before = GC.GetAllocatedBytesForCurrentThread();
                secret = await AttachmentEncryption.EncryptAsync(source, sink);
                encryptAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }

            long decryptAllocated;
            using var plaintext = new HashingSink();
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0))
            {
                var source = new ForwardOnlyStream(file);
                long before = GC.GetAllocatedBytesForCurrentThread();
                await AttachmentEncryption.DecryptAsync(source, plaintext, secret);
                decryptAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }

            Assert.Equal(size, plaintext.Written);
            Assert.Equal(expectedHash, plaintext.GetHash());

            // 800 chunks: a few hundred bytes of bookkeeping each plus the pooled buffers, far below the 50 MB moved.
            Assert.True(encryptAllocated < 2 * 1024 * 1024, $"encryption allocated {encryptAllocated} bytes");
            Assert.True(decryptAllocated < 2 * 1024 * 1024, $"decryption allocated {decryptAllocated} bytes");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Secret_ToString_prints_lengths_but_no_key_or_digest()
    {
        (_, AttachmentSecret secret) = await EncryptAsync(RandomNumberGenerator.GetBytes(10), Chunk);
        string text = secret.ToString();

        Assert.Contains("10 bytes", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(secret.Key.Span), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(secret.Key.Span), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(secret.Digest.Span), text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Secret_refuses_wrong_key_or_digest_sizes()
    {
        Assert.Throws<ArgumentException>(() => new AttachmentSecret(new byte[31], new byte[32], 0, 0));
        Assert.Throws<ArgumentException>(() => new AttachmentSecret(new byte[32], new byte[33], 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AttachmentSecret(new byte[32], new byte[32], -1, 0));
    }

    private static async Task<(byte[] Ciphertext, AttachmentSecret Secret)> EncryptAsync(byte[] plaintext, int chunkSize)
    {
        using var sink = new MemoryStream();
        AttachmentSecret secret = await AttachmentEncryption.EncryptAsync(new ForwardOnlyStream(new MemoryStream(plaintext)), new ForwardOnlyStream(sink), chunkSize, CancellationToken.None);
        return (sink.ToArray(), secret);
    }

    private static async Task<byte[]> DecryptAsync(byte[] ciphertext, AttachmentSecret secret)
    {
        using var sink = new MemoryStream();
        await AttachmentEncryption.DecryptAsync(new ForwardOnlyStream(new MemoryStream(ciphertext)), new ForwardOnlyStream(sink), secret);
        return sink.ToArray();
    }

    private static async Task<CryptographicFailureException> AssertRefusedAsync(byte[] ciphertext, AttachmentSecret secret)
    {
        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(() => DecryptAsync(ciphertext, secret));
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, failure.ErrorCode);
        return failure;
    }

    // Digest and lengths recomputed over the altered bytes: only the chunk layer can catch the change.
    private static AttachmentSecret Forge(AttachmentSecret secret, byte[] altered) =>
        new(secret.Key.Span, SHA256.HashData(altered), secret.PlaintextLength, altered.Length);

    private static byte[] ChunkAt(byte[] ciphertext, int index) =>
        ciphertext.AsSpan(Header + (index * (Chunk + Tag)), Chunk + Tag).ToArray();
}
