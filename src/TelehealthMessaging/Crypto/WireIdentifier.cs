using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// The one encoding of a <see cref="UserId"/> or <see cref="DeviceId"/> in envelope formats: u8 length ‖ ASCII bytes,
/// 1 to 64 of A-Z a-z 0-9 - . (the identifier alphabet, so the relay can route on the bytes without escaping).
/// </summary>
internal static class WireIdentifier
{
    /// <summary>Writes a device id; <c>default(DeviceId)</c> is a programming error.</summary>
    public static void Write(WireWriter writer, DeviceId device) => Write(writer, device.Value ?? throw new ArgumentException("The device id is empty.", nameof(device)));

    /// <summary>Writes a user id; <c>default(UserId)</c> is a programming error.</summary>
    public static void Write(WireWriter writer, UserId user) => Write(writer, user.Value ?? throw new ArgumentException("The user id is empty.", nameof(user)));

    private static void Write(WireWriter writer, string value)
    {
        byte[] ascii = Encoding.ASCII.GetBytes(value);
        writer.WriteUInt8((byte)ascii.Length).WriteFixed(ascii);
    }

    /// <summary>Reads u8 length ‖ ASCII and refuses anything that is not a valid identifier (1–64 of A-Z a-z 0-9 - .).</summary>
    public static string Read(ref WireReader reader, string field)
    {
        int length = reader.ReadUInt8(field + ".length");
        if (length is 0 or > Identifier.MaxLength)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"{field} must be 1 to {Identifier.MaxLength} bytes.");
        }

        string value = Encoding.ASCII.GetString(reader.ReadFixed(length, field));
        if (!Identifier.IsValid(value))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"{field} is not a valid identifier.");
        }

        return value;
    }
}
