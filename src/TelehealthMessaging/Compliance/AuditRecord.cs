namespace TelehealthMessaging.Compliance;

/// <summary>
/// One entry of an <see cref="AuditLog"/> as stored: the entry, its sequence number and time, the device that
/// recorded it, and its place in the hash chain.
/// </summary>
public sealed class AuditRecord
{
    internal AuditRecord(long sequence, DateTimeOffset recordedAt, DeviceId device, AuditEntry entry, byte[] previousHash, byte[] hash)
    {
        Sequence = sequence;
        RecordedAt = recordedAt;
        Device = device;
        Entry = entry;
        PreviousHashBytes = previousHash;
        HashBytes = hash;
    }

    /// <summary>The record's position in the log, from 0.</summary>
    public long Sequence { get; }

    /// <summary>When the record was appended (UTC, from the log's <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset RecordedAt { get; }

    /// <summary>The device that recorded the action.</summary>
    public DeviceId Device { get; }

    /// <summary>What happened.</summary>
    public AuditAction Action => Entry.Action;

    /// <summary>The user on whose behalf the device acted.</summary>
    public UserId Actor => Entry.Actor;

    /// <summary>What the action was about.</summary>
    public IReadOnlyList<AuditSubject> Subjects => Entry.Subjects;

    /// <summary>How the action ended.</summary>
    public AuditOutcome Outcome => Entry.Outcome;

    /// <summary>The transition or purpose, for the actions that take one.</summary>
    public AuditCode? Code => Entry.Code;

    /// <summary>How many items the action affected, when the entry carried a count (see <see cref="AuditEntry.Count"/>).</summary>
    public long? Count => Entry.Count;

    /// <summary>The SHA-256 chain hash of this record (see <see cref="AuditLog"/> for what it covers).</summary>
    public ReadOnlyMemory<byte> Hash => HashBytes;

    internal AuditEntry Entry { get; }

    internal byte[] PreviousHashBytes { get; }

    internal byte[] HashBytes { get; }

    /// <summary>Describes the record (ids and codes only).</summary>
    /// <returns>The record as text.</returns>
    public override string ToString() =>
        $"AuditRecord {{ Sequence = {Sequence}, Action = {Action}, Actor = {Actor}, Device = {Device}, Outcome = {Outcome}, Code = {Code?.ToString() ?? "(none)"}{(Count is { } count ? ", Count = " + count.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty)}, Subjects = [{string.Join(", ", Subjects)}] }}";
}
