using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>HKDF with SHA-256 (RFC 5869) over the BCL's <see cref="HKDF"/>.</summary>
internal static class HkdfSha256
{
    public const int HashSize = 32;

    /// <summary>The longest output HKDF-SHA256 can produce: 255 blocks of 32 bytes.</summary>
    public const int MaxOutputSize = 255 * HashSize;

    /// <summary>HKDF-Extract: writes the 32-byte pseudorandom key. An empty salt means 32 zero bytes (RFC 5869 §2.2).</summary>
    public static void Extract(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt, Span<byte> pseudorandomKey)
    {
        if (pseudorandomKey.Length != HashSize)
        {
            throw new ArgumentException($"The pseudorandom key destination must be {HashSize} bytes.", nameof(pseudorandomKey));
        }

        HKDF.Extract(HashAlgorithmName.SHA256, inputKeyMaterial, salt, pseudorandomKey);
    }

    /// <summary>HKDF-Expand: fills <paramref name="output"/> (1 to 8160 bytes) from a pseudorandom key of at least 32 bytes.</summary>
    public static void Expand(ReadOnlySpan<byte> pseudorandomKey, ReadOnlySpan<byte> info, Span<byte> output)
    {
        if (pseudorandomKey.Length < HashSize)
        {
            throw new ArgumentException($"The pseudorandom key must be at least {HashSize} bytes.", nameof(pseudorandomKey));
        }

        CheckOutputLength(output.Length, nameof(output));
        HKDF.Expand(HashAlgorithmName.SHA256, pseudorandomKey, output, info);
    }

    /// <summary>Extract then expand in one call.</summary>
    public static void DeriveKey(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, Span<byte> output)
    {
        CheckOutputLength(output.Length, nameof(output));
        HKDF.DeriveKey(HashAlgorithmName.SHA256, inputKeyMaterial, output, salt, info);
    }

    private static void CheckOutputLength(int length, string parameterName)
    {
        if (length is < 1 or > MaxOutputSize)
        {
            throw new ArgumentException($"HKDF-SHA256 output must be 1 to {MaxOutputSize} bytes.", parameterName);
        }
    }
}
