using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>HMAC-SHA256 (RFC 2104) over the BCL, with full-length tags only and a fixed-time comparison.</summary>
internal static class HmacSha256
{
    public const int TagSize = 32;

    /// <summary>Writes the 32-byte tag of <paramref name="data"/> under <paramref name="key"/>.</summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> tag)
    {
        if (tag.Length != TagSize)
        {
            throw new ArgumentException($"The tag destination must be {TagSize} bytes.", nameof(tag));
        }

        HMACSHA256.HashData(key, data, tag);
    }

    /// <summary>
    /// Returns <see langword="true"/> when <paramref name="tag"/> is the full 32-byte tag of <paramref name="data"/>.
    /// A tag of any other length is refused: truncated tags are not accepted anywhere in the protocol.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> tag)
    {
        if (tag.Length != TagSize)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[TagSize];
        HMACSHA256.HashData(key, data, expected);
        bool equal = CryptographicOperations.FixedTimeEquals(expected, tag);
        CryptographicOperations.ZeroMemory(expected);
        return equal;
    }
}
