using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

/// <summary>
/// The request signature client and relay share: every relay request is signed by the device's Ed25519 identity key.
/// </summary>
/// <remarks>
/// The signed bytes are the UTF-8 text
/// <c>"TelehealthMessaging-Relay-v1\n" METHOD "\n" path-and-query "\n" timestamp "\n" nonce "\n" hex(SHA-256(body))</c>
/// where METHOD is the upper-case HTTP method, path-and-query the request target exactly as sent, timestamp the
/// decimal Unix time in seconds, nonce the base64url text of 16 random bytes, and the digest lower-case hex
/// (the digest of the empty body for requests without one).
/// </remarks>
internal static class RelayRequestSignature
{
    public const string DeviceHeader = "X-Telehealth-Device";
    public const string TimestampHeader = "X-Telehealth-Timestamp";
    public const string NonceHeader = "X-Telehealth-Nonce";
    public const string SignatureHeader = "X-Telehealth-Signature";
    public const int NonceSize = 16;

    /// <summary>How far a request's timestamp may be from the relay's clock.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Lower-case hex SHA-256 of an empty body.</summary>
    public static readonly string EmptyBodyDigest = DigestHex([]);

    private const string Domain = "TelehealthMessaging-Relay-v1";

    /// <summary>Lower-case hex SHA-256 of <paramref name="body"/>.</summary>
    public static string DigestHex(ReadOnlySpan<byte> body)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, digest);
        return Convert.ToHexString(digest).ToLowerInvariant();
    }

    /// <summary>The exact bytes that are signed.</summary>
    /// <exception cref="ArgumentException">A component contains a line feed, which would make the form ambiguous.</exception>
    public static byte[] CanonicalBytes(string method, string pathAndQuery, long unixSeconds, string nonce, string bodyDigestHex)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentException.ThrowIfNullOrEmpty(pathAndQuery);
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        ArgumentException.ThrowIfNullOrEmpty(bodyDigestHex);
        if (method.Contains('\n', StringComparison.Ordinal) || pathAndQuery.Contains('\n', StringComparison.Ordinal) || nonce.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("Signed request components cannot contain a line feed.");
        }

        string text = string.Join(
            '\n',
            Domain,
            method.ToUpperInvariant(),
            pathAndQuery,
            unixSeconds.ToString(CultureInfo.InvariantCulture),
            nonce,
            bodyDigestHex);
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Creates the four signature headers for one request.</summary>
    public static RelaySignatureHeaders Sign(Ed25519PrivateKey identityKey, DeviceId device, string method, string pathAndQuery, DateTimeOffset now, string bodyDigestHex)
    {
        ArgumentNullException.ThrowIfNull(identityKey);
        Span<byte> nonceBytes = stackalloc byte[NonceSize];
        RandomNumberGenerator.Fill(nonceBytes);
        string nonce = Base64Url.Encode(nonceBytes);
        long timestamp = now.ToUnixTimeSeconds();
        byte[] signature = identityKey.Sign(CanonicalBytes(method, pathAndQuery, timestamp, nonce, bodyDigestHex));
        return new RelaySignatureHeaders(device.Value, timestamp.ToString(CultureInfo.InvariantCulture), nonce, Base64Url.Encode(signature));
    }

    /// <summary>Checks a signature against the canonical bytes; never throws for untrusted input.</summary>
    public static bool Verify(ReadOnlySpan<byte> identityPublicKey, string method, string pathAndQuery, long unixSeconds, string nonce, string bodyDigestHex, ReadOnlySpan<byte> signature)
    {
        if (string.IsNullOrEmpty(nonce) || nonce.Contains('\n', StringComparison.Ordinal) || pathAndQuery.Contains('\n', StringComparison.Ordinal))
        {
            return false;
        }

        return Ed25519.Verify(identityPublicKey, CanonicalBytes(method, pathAndQuery, unixSeconds, nonce, bodyDigestHex), signature);
    }

    /// <summary>Parses the timestamp header: decimal digits only, no sign, no spaces.</summary>
    public static bool TryParseTimestamp(string? text, out long unixSeconds)
    {
        unixSeconds = 0;
        return !string.IsNullOrEmpty(text) && text.Length <= 12 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds);
    }

    /// <summary>Checks that the nonce header is the base64url text of exactly 16 bytes.</summary>
    public static bool IsWellFormedNonce(string? nonce) =>
        nonce is { Length: 22 } && Base64Url.TryDecode(nonce, out byte[]? bytes) && bytes.Length == NonceSize;
}

/// <summary>The header values of one signed request.</summary>
internal sealed record RelaySignatureHeaders(string Device, string Timestamp, string Nonce, string Signature);
