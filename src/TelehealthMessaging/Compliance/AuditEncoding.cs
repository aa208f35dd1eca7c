using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TelehealthMessaging.Compliance;

// The canonical binary encodings of audit records and checkpoints (documented in docs/compliance.md, "Audit log
// encoding"). Fixed-width integers are big-endian; an id is one length byte (1..64) and its ASCII characters.
//
// Record (stored value):  previousHash[32] || body || hash[32],  hash = SHA-256(previousHash || body)
//   body = version:u8 sequence:u64 recordedAtUtcTicks:i64 device:id action:u8 actor:id outcome:u8
//          codeKind:u8 [codeValue:u8 when codeKind != 0] subjectCount:u8 (subjectKind:u8 subjectId:id)*
//          [count:u64 when version = 2]
//   version 1: no count (every record written before counts existed, and every record without one, byte for byte);
//   version 2: the entry carries AuditEntry.Count. The version byte is hashed, so a count cannot be added or removed unseen.
// Checkpoint (stored value): payload || signature[64]
//   payload = version:u8(1) sequence:u64 hash[32] signedAtUtcTicks:i64 publicKey[32]
//   signature = Ed25519(CheckpointContext || payload)
internal static class AuditEncoding
{
    public const int HashSize = 32;
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;
    public const int CheckpointPayloadSize = 1 + 8 + HashSize + 8 + PublicKeySize;
    private const byte Version = 1;
    private const byte CountedRecordVersion = 2;

    // Domain separation: a checkpoint signature can never be mistaken for any other signature the identity key makes.
    private static readonly byte[] CheckpointContext = Encoding.ASCII.GetBytes("TelehealthMessaging/audit-checkpoint/v1");

    public static byte[] GenesisHash => new byte[HashSize];

    public static (byte[] Stored, byte[] Hash) EncodeRecord(long sequence, DateTimeOffset recordedAt, DeviceId device, AuditEntry entry, ReadOnlySpan<byte> previousHash)
    {
        var bytes = new List<byte>(256);
        bytes.AddRange(previousHash);
        bytes.Add(entry.Count is null ? Version : CountedRecordVersion);
        AddUInt64(bytes, (ulong)sequence);
        AddUInt64(bytes, (ulong)recordedAt.UtcTicks);
        AddId(bytes, device.Value);
        bytes.Add((byte)entry.Action);
        AddId(bytes, entry.Actor.Value);
        bytes.Add((byte)entry.Outcome);
        if (entry.Code is { } code)
        {
            bytes.Add((byte)code.Kind);
            bytes.Add((byte)code.Value);
        }
        else
        {
            bytes.Add(0);
        }

        bytes.Add((byte)entry.Subjects.Count);
        foreach (AuditSubject subject in entry.Subjects)
        {
            bytes.Add((byte)subject.Kind);
            AddId(bytes, subject.Id);
        }

        if (entry.Count is long count)
        {
            AddUInt64(bytes, (ulong)count);
        }

        byte[] hash = SHA256.HashData(bytes.ToArray());
        bytes.AddRange(hash);
        return (bytes.ToArray(), hash);
    }

    // Throws FormatException when the bytes are not a well-formed record; does not check the hash (the caller does).
    public static AuditRecord DecodeRecord(ReadOnlySpan<byte> stored)
    {
        try
        {
            return Decode(stored);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            throw new FormatException("An audit record holds values outside their range.", ex);
        }
    }

    private static AuditRecord Decode(ReadOnlySpan<byte> stored)
    {
        var reader = new Reader(stored);
        byte[] previousHash = reader.Bytes(HashSize).ToArray();
        byte version = reader.Byte();
        if (version is not (Version or CountedRecordVersion))
        {
            throw new FormatException("Unknown audit record version.");
        }

        long sequence = checked((long)reader.UInt64());
        var recordedAt = new DateTimeOffset(checked((long)reader.UInt64()), TimeSpan.Zero);
        var device = new DeviceId(reader.Id());
        var action = (AuditAction)reader.Byte();
        var actor = new UserId(reader.Id());
        var outcome = (AuditOutcome)reader.Byte();
        AuditCode? code = null;
        byte codeKind = reader.Byte();
        if (codeKind != 0)
        {
            code = AuditCode.Create((AuditCodeKind)codeKind, reader.Byte());
        }

        int subjectCount = reader.Byte();
        var subjects = new List<AuditSubject>(subjectCount);
        for (int i = 0; i < subjectCount; i++)
        {
            var kind = (AuditSubjectKind)reader.Byte();
            subjects.Add(AuditSubject.Create(kind, reader.Id()));
        }

        long? count = version == CountedRecordVersion ? checked((long)reader.UInt64()) : null;
        byte[] hash = reader.Bytes(HashSize).ToArray();
        if (!reader.AtEnd)
        {
            throw new FormatException("Trailing bytes after an audit record.");
        }

        var entry = new AuditEntry(action, actor, subjects, outcome, code) { Count = count };
        return new AuditRecord(sequence, recordedAt, device, entry, previousHash, hash);
    }

    public static byte[] ComputeHash(ReadOnlySpan<byte> stored) => SHA256.HashData(stored[..^HashSize]);

    public static byte[] CheckpointPayload(long sequence, ReadOnlySpan<byte> hash, DateTimeOffset signedAt, ReadOnlySpan<byte> publicKey)
    {
        byte[] payload = new byte[CheckpointPayloadSize];
        payload[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(payload.AsSpan(1), (ulong)sequence);
        hash.CopyTo(payload.AsSpan(9));
        BinaryPrimitives.WriteUInt64BigEndian(payload.AsSpan(9 + HashSize), (ulong)signedAt.UtcTicks);
        publicKey.CopyTo(payload.AsSpan(17 + HashSize));
        return payload;
    }

    public static byte[] SignedMessage(ReadOnlySpan<byte> payload) => [.. CheckpointContext, .. payload];

    public static AuditCheckpoint DecodeCheckpoint(ReadOnlySpan<byte> stored)
    {
        if (stored.Length != CheckpointPayloadSize + SignatureSize || stored[0] != Version)
        {
            throw new FormatException("Not an audit checkpoint.");
        }

        long sequence = checked((long)BinaryPrimitives.ReadUInt64BigEndian(stored[1..]));
        byte[] hash = stored.Slice(9, HashSize).ToArray();
        var signedAt = new DateTimeOffset(checked((long)BinaryPrimitives.ReadUInt64BigEndian(stored[(9 + HashSize)..])), TimeSpan.Zero);
        byte[] publicKey = stored.Slice(17 + HashSize, PublicKeySize).ToArray();
        byte[] signature = stored[CheckpointPayloadSize..].ToArray();
        return new AuditCheckpoint(sequence, hash, signedAt, publicKey, signature);
    }

    private static void AddUInt64(List<byte> bytes, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    private static void AddId(List<byte> bytes, string id)
    {
        bytes.Add((byte)id.Length);
        bytes.AddRange(Encoding.ASCII.GetBytes(id));
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (_data.Length - _position < count)
            {
                throw new FormatException("An audit record ends early.");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }

        public byte Byte() => Bytes(1)[0];

        public ulong UInt64() => BinaryPrimitives.ReadUInt64BigEndian(Bytes(8));

        public string Id()
        {
            int length = Byte();
            string id = Encoding.ASCII.GetString(Bytes(length));
            return Identifier.IsValid(id) ? id : throw new FormatException("An audit record holds an invalid id.");
        }
    }
}
