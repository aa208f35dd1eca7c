using System.Buffers.Binary;
using System.Text;

namespace TelehealthMessaging.Storage;

/// <summary>Where a record lives in a <see cref="RecordFolder"/>: a category byte and the name's bytes.</summary>
/// <remarks>
/// Key records use their <see cref="KeyRecordKind"/> value as category and the big-endian id as name; sessions use
/// 0x80 and the ASCII device id; scope keys use 0x90 and the ASCII scope name.
/// </remarks>
internal readonly struct RecordAddress
{
    public const byte SessionCategory = 0x80;
    public const byte ScopeKeyCategory = 0x90;

    // A scope name is at most 128 ASCII characters, a device id 64; a key id is 4 bytes.
    public const int MaxNameLength = DataRecordNames.MaxLength;

    public RecordAddress(byte category, byte[] name)
    {
        Category = category;
        Name = name;
    }

    public byte Category { get; }

    public byte[] Name { get; }

    public static RecordAddress ForKey(KeyRecordName name)
    {
        byte[] id = new byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32BigEndian(id, name.Id);
        return new RecordAddress((byte)name.Kind, id);
    }

    public static RecordAddress ForSession(DeviceId peer) => new(SessionCategory, Encoding.ASCII.GetBytes(peer.Value));

    public static RecordAddress ForScopeKey(string scope) => new(ScopeKeyCategory, Encoding.ASCII.GetBytes(scope));

    public KeyRecordName ToKeyRecordName() => new((KeyRecordKind)Category, BinaryPrimitives.ReadUInt32BigEndian(Name));

    public DeviceId ToDeviceId() => new(Encoding.ASCII.GetString(Name));

    public string ToScopeName() => Encoding.ASCII.GetString(Name);

    public override string ToString() => $"RecordAddress(category {Category})";
}
