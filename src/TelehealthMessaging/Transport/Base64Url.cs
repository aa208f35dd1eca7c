namespace TelehealthMessaging.Transport;

/// <summary>Unpadded base64url (RFC 4648 §5), the encoding of binary values in relay headers and JSON.</summary>
internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes strictly: only the base64url alphabet, no padding, no whitespace, canonical trailing bits.</summary>
    public static bool TryDecode(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;
        if (text is null || text.Length % 4 == 1)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        string standard = text.Replace('-', '+').Replace('_', '/');
        standard += (text.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        try
        {
            bytes = Convert.FromBase64String(standard);
        }
        catch (FormatException)
        {
            return false;
        }

        // Refuse encodings with non-zero unused bits, so each byte string has exactly one accepted text.
        if (!string.Equals(Encode(bytes), text, StringComparison.Ordinal))
        {
            bytes = null;
            return false;
        }

        return true;
    }
}
