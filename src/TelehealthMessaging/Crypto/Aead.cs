using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using BcChaCha20Poly1305 = Org.BouncyCastle.Crypto.Modes.ChaCha20Poly1305;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// An AEAD with a 256-bit key, 96-bit nonce and 128-bit tag. Sealed output is <c>ciphertext ‖ tag</c>.
/// </summary>
/// <remarks>
/// Opening either returns the whole plaintext or throws <see cref="CryptographicFailureException"/> with
/// <see cref="CryptographicFailureReason.AuthenticationFailed"/> after zeroing the destination: callers never see
/// unauthenticated bytes. Sizes of keys, nonces and destinations are fixed by the caller's code, so a wrong one is an
/// <see cref="ArgumentException"/>; a too-short ciphertext comes from the wire and is an authentication failure.
/// </remarks>
internal abstract class Aead
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    private protected Aead()
    {
    }

    /// <summary>AES-256-GCM through the BCL's <see cref="AesGcm"/>.</summary>
    public static Aead Aes256Gcm { get; } = new Aes256GcmAead();

    /// <summary>ChaCha20-Poly1305 through the BCL; only usable where <see cref="System.Security.Cryptography.ChaCha20Poly1305.IsSupported"/>.</summary>
    internal static Aead ChaCha20Poly1305Bcl { get; } = new BclChaCha20Poly1305Aead();

    /// <summary>ChaCha20-Poly1305 through BouncyCastle, the fallback; tests run both against the same vectors.</summary>
    internal static Aead ChaCha20Poly1305BouncyCastle { get; } = new BouncyCastleChaCha20Poly1305Aead();

    // Declared after the two implementations because static initializers run in textual order.
    /// <summary>ChaCha20-Poly1305 (RFC 8439): the BCL's where the platform supports it, otherwise BouncyCastle's.</summary>
    public static Aead ChaCha20Poly1305 { get; } =
        System.Security.Cryptography.ChaCha20Poly1305.IsSupported ? ChaCha20Poly1305Bcl : ChaCha20Poly1305BouncyCastle;

    /// <summary>A short name for messages and diagnostics.</summary>
    public abstract string Name { get; }

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="destination"/>, which must be plaintext length + 16.</summary>
    public void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        CheckKeyAndNonce(key, nonce);
        if (destination.Length != plaintext.Length + TagSize)
        {
            throw new ArgumentException("The destination must be the plaintext length plus the 16-byte tag.", nameof(destination));
        }

        SealCore(key, nonce, plaintext, associatedData, destination[..plaintext.Length], destination[plaintext.Length..]);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> and returns <c>ciphertext ‖ tag</c>.</summary>
    public byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] sealedBytes = new byte[plaintext.Length + TagSize];
        Seal(key, nonce, plaintext, associatedData, sealedBytes);
        return sealedBytes;
    }

    /// <summary>
    /// Verifies and decrypts <paramref name="sealedBytes"/> (<c>ciphertext ‖ tag</c>) into <paramref name="destination"/>,
    /// which must be sealed length − 16. On failure the destination is zeroed and
    /// <see cref="CryptographicFailureException"/> is thrown.
    /// </summary>
    public void Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        CheckKeyAndNonce(key, nonce);
        if (sealedBytes.Length < TagSize)
        {
            throw CryptographicFailureException.AuthenticationFailed($"A {Name} ciphertext shorter than its tag");
        }

        int plaintextLength = sealedBytes.Length - TagSize;
        if (destination.Length != plaintextLength)
        {
            throw new ArgumentException("The destination must be the sealed length minus the 16-byte tag.", nameof(destination));
        }

        bool authentic;
        try
        {
            authentic = TryOpenCore(key, nonce, sealedBytes[..plaintextLength], sealedBytes[plaintextLength..], associatedData, destination);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(destination);
            throw;
        }

        if (!authentic)
        {
            CryptographicOperations.ZeroMemory(destination);
            throw CryptographicFailureException.AuthenticationFailed($"A {Name} ciphertext");
        }
    }

    /// <summary>Verifies and decrypts <paramref name="sealedBytes"/>, returning the plaintext.</summary>
    public byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        if (sealedBytes.Length < TagSize)
        {
            CheckKeyAndNonce(key, nonce);
            throw CryptographicFailureException.AuthenticationFailed($"A {Name} ciphertext shorter than its tag");
        }

        byte[] plaintext = new byte[sealedBytes.Length - TagSize];
        Open(key, nonce, sealedBytes, associatedData, plaintext);
        return plaintext;
    }

    public override string ToString() => Name;

    private protected abstract void SealCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag);

    /// <summary>Returns <see langword="false"/> when the tag does not verify; may leave partial output that the caller zeroes.</summary>
    private protected abstract bool TryOpenCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext);

    private static void CheckKeyAndNonce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"The AEAD key must be {KeySize} bytes.", nameof(key));
        }

        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException($"The AEAD nonce must be {NonceSize} bytes.", nameof(nonce));
        }
    }

    private sealed class Aes256GcmAead : Aead
    {
        public override string Name => "AES-256-GCM";

        private protected override void SealCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag)
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }

        private protected override bool TryOpenCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
        {
            using var aes = new AesGcm(key, TagSize);
            try
            {
                aes.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
    }

    private sealed class BclChaCha20Poly1305Aead : Aead
    {
        public override string Name => "ChaCha20-Poly1305";

        private protected override void SealCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag)
        {
            using var chacha = new System.Security.Cryptography.ChaCha20Poly1305(key);
            chacha.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }

        private protected override bool TryOpenCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
        {
            using var chacha = new System.Security.Cryptography.ChaCha20Poly1305(key);
            try
            {
                chacha.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
    }

    private sealed class BouncyCastleChaCha20Poly1305Aead : Aead
    {
        public override string Name => "ChaCha20-Poly1305";

        private protected override void SealCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag)
        {
            BcChaCha20Poly1305 cipher = Create(forEncryption: true, key, nonce, associatedData);
            int written = cipher.ProcessBytes(plaintext, ciphertext);
            Span<byte> tail = stackalloc byte[TagSize + 64];
            int finalLength = cipher.DoFinal(tail);

            // DoFinal emits whatever ciphertext ProcessBytes held back, then the tag.
            tail[..(finalLength - TagSize)].CopyTo(ciphertext[written..]);
            tail.Slice(finalLength - TagSize, TagSize).CopyTo(tag);
        }

        private protected override bool TryOpenCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
        {
            BcChaCha20Poly1305 cipher = Create(forEncryption: false, key, nonce, associatedData);
            int written = cipher.ProcessBytes(ciphertext, plaintext);
            written += cipher.ProcessBytes(tag, plaintext[written..]);
            try
            {
                cipher.DoFinal(plaintext[written..]);
                return true;
            }
            catch (InvalidCipherTextException)
            {
                return false;
            }
        }

        private static BcChaCha20Poly1305 Create(bool forEncryption, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData)
        {
            var cipher = new BcChaCha20Poly1305();
            cipher.Init(forEncryption, new ParametersWithIV(new KeyParameter(key), nonce));
            cipher.ProcessAadBytes(associatedData);
            return cipher;
        }
    }
}
