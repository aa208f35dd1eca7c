using System.Buffers.Binary;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// Reads the protocol's binary wire format strictly: big-endian fixed-width integers, fixed-size fields and byte
/// strings with a 32-bit length prefix bounded by a caller-given maximum.
/// </summary>
/// <remarks>
/// Every failure (truncation, a length over its maximum, trailing bytes) throws
/// <see cref="CryptographicFailureException"/> with <see cref="CryptographicFailureReason.MalformedEncoding"/>; messages
/// name the field, never its bytes. Returned spans alias the input and copy nothing.
/// </remarks>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public WireReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>The number of bytes not yet read.</summary>
    public readonly int Remaining => _buffer.Length - _position;

    public byte ReadUInt8(string field) => Take(1, field)[0];

    public ushort ReadUInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Take(sizeof(ushort), field));

    public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(sizeof(uint), field));

    public ulong ReadUInt64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Take(sizeof(ulong), field));

    /// <summary>Reads exactly <paramref name="length"/> bytes (a fixed-size field such as a key or nonce).</summary>
    public ReadOnlySpan<byte> ReadFixed(int length, string field)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return Take(length, field);
    }

    /// <summary>
    /// Reads a byte string written by <see cref="WireWriter.WriteBytes"/>: a 32-bit length, then that many bytes. A
    /// length above <paramref name="maxLength"/> is refused before anything else is read.
    /// </summary>
    public ReadOnlySpan<byte> ReadBytes(int maxLength, string field)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        uint length = ReadUInt32(field);
        if (length > (uint)maxLength)
        {
            throw Malformed($"The length of {field} exceeds its maximum of {maxLength} bytes.");
        }

        return Take((int)length, field);
    }

    /// <summary>Refuses trailing bytes: call after the last field.</summary>
    public readonly void EnsureEnd()
    {
        if (Remaining != 0)
        {
            throw Malformed($"{Remaining} unexpected bytes follow the last field.");
        }
    }

    private ReadOnlySpan<byte> Take(int length, string field)
    {
        if (length > Remaining)
        {
            throw Malformed($"The data ends inside {field}.");
        }

        ReadOnlySpan<byte> value = _buffer.Slice(_position, length);
        _position += length;
        return value;
    }

    private static CryptographicFailureException Malformed(string message) =>
        new(CryptographicFailureReason.MalformedEncoding, message);
}
