using System.Buffers;
using System.Buffers.Binary;

namespace TelehealthMessaging.Crypto;

/// <summary>Writes the format <see cref="WireReader"/> reads: big-endian integers, fixed fields, length-prefixed byte strings.</summary>
internal sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public WireWriter(int initialCapacity = 256)
    {
        _buffer = new ArrayBufferWriter<byte>(initialCapacity);
    }

    /// <summary>The number of bytes written so far.</summary>
    public int Length => _buffer.WrittenCount;

    /// <summary>The bytes written so far; valid until the next write.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public WireWriter WriteUInt8(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
        return this;
    }

    public WireWriter WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.GetSpan(sizeof(ushort)), value);
        _buffer.Advance(sizeof(ushort));
        return this;
    }

    public WireWriter WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.GetSpan(sizeof(uint)), value);
        _buffer.Advance(sizeof(uint));
        return this;
    }

    public WireWriter WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.GetSpan(sizeof(ulong)), value);
        _buffer.Advance(sizeof(ulong));
        return this;
    }

    /// <summary>Writes a fixed-size field with no prefix; the reader must know its length.</summary>
    public WireWriter WriteFixed(ReadOnlySpan<byte> value)
    {
        _buffer.Write(value);
        return this;
    }

    /// <summary>
    /// Writes a 32-bit length and then <paramref name="value"/>. The writer enforces the same
    /// <paramref name="maxLength"/> the reader will, so it never produces bytes its peer must refuse.
    /// </summary>
    public WireWriter WriteBytes(ReadOnlySpan<byte> value, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (value.Length > maxLength)
        {
            throw new ArgumentException($"The value is {value.Length} bytes, over its maximum of {maxLength}.", nameof(value));
        }

        WriteUInt32((uint)value.Length);
        return WriteFixed(value);
    }

    /// <summary>Returns a copy of everything written.</summary>
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public override string ToString() => $"WireWriter({Length} bytes)";
}
