using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// A 60-digit number two people compare (read aloud or side by side) to confirm that their devices talk to each other
/// without anyone in between. Both devices compute the same digits; the number changes when either identity changes.
/// </summary>
/// <remarks>
/// Computed as Signal's numeric fingerprint: 30 digits per device from an iterated SHA-512 over that device's identity
/// keys and user id, the two halves placed in ascending order so both sides agree. See docs/protocol.md.
/// </remarks>
public readonly struct SafetyNumber : IEquatable<SafetyNumber>
{
    /// <summary>The number of digits in a safety number.</summary>
    public const int DigitCount = 60;

    internal const int Iterations = 5200;
    internal const ushort FormatVersion = 1;
    private const int DigitsPerSide = DigitCount / 2;
    private const int GroupSize = 5;

    private readonly string? _digits;

    private SafetyNumber(string digits) => _digits = digits;

    /// <summary>The 60 decimal digits with no separators; empty for a default instance.</summary>
    public string Digits => _digits ?? string.Empty;

    /// <summary>Computes the safety number of a pair of devices. Either side may be passed first: the result is the same.</summary>
    internal static SafetyNumber Compute(IdentityKey firstIdentity, UserId firstUser, IdentityKey secondIdentity, UserId secondUser)
    {
        ArgumentNullException.ThrowIfNull(firstIdentity);
        ArgumentNullException.ThrowIfNull(secondIdentity);
        string first = Half(firstIdentity, firstUser);
        string second = Half(secondIdentity, secondUser);
        return new SafetyNumber(string.CompareOrdinal(first, second) <= 0 ? first + second : second + first);
    }

    /// <summary>30 digits for one device: six 5-byte chunks of the iterated hash, each big-endian mod 100000.</summary>
    private static string Half(IdentityKey identity, UserId user)
    {
        if (user.Value is null)
        {
            throw new ArgumentException("The user id must be set.", nameof(user));
        }

        byte[] publicKeys = identity.EncodePublicKeys();
        byte[] userBytes = Encoding.UTF8.GetBytes(user.Value);

        byte[] input = new byte[2 + publicKeys.Length + userBytes.Length];
        input[0] = (byte)(FormatVersion >> 8);
        input[1] = (byte)FormatVersion;
        publicKeys.CopyTo(input, 2);
        userBytes.CopyTo(input, 2 + publicKeys.Length);

        byte[] hash = SHA512.HashData(input);
        byte[] round = new byte[SHA512.HashSizeInBytes + publicKeys.Length];
        publicKeys.CopyTo(round, SHA512.HashSizeInBytes);
        for (int i = 0; i < Iterations; i++)
        {
            hash.CopyTo(round, 0);
            hash = SHA512.HashData(round);
        }

        var digits = new StringBuilder(DigitsPerSide);
        for (int chunk = 0; chunk < DigitsPerSide / GroupSize; chunk++)
        {
            ulong value = 0;
            for (int b = 0; b < 5; b++)
            {
                value = (value << 8) | hash[(chunk * 5) + b];
            }

            digits.Append((value % 100_000).ToString("D5", CultureInfo.InvariantCulture));
        }

        return digits.ToString();
    }

    /// <inheritdoc/>
    public bool Equals(SafetyNumber other) => string.Equals(Digits, other.Digits, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SafetyNumber other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Digits);

    /// <summary>Returns the digits in twelve groups of five separated by spaces, the way people compare them.</summary>
    /// <returns>For example <c>12345 67890 …</c>; empty for a default instance.</returns>
    public override string ToString()
    {
        string digits = Digits;
        var formatted = new StringBuilder(digits.Length + (digits.Length / GroupSize));
        for (int i = 0; i < digits.Length; i += GroupSize)
        {
            if (i > 0)
            {
                formatted.Append(' ');
            }

            formatted.Append(digits, i, GroupSize);
        }

        return formatted.ToString();
    }

    /// <summary>Compares the digits of two safety numbers.</summary>
    /// <param name="left">The first number.</param>
    /// <param name="right">The second number.</param>
    /// <returns><see langword="true"/> when the digits are the same.</returns>
    public static bool operator ==(SafetyNumber left, SafetyNumber right) => left.Equals(right);

    /// <summary>Compares the digits of two safety numbers.</summary>
    /// <param name="left">The first number.</param>
    /// <param name="right">The second number.</param>
    /// <returns><see langword="true"/> when the digits differ.</returns>
    public static bool operator !=(SafetyNumber left, SafetyNumber right) => !left.Equals(right);
}
