namespace TelehealthMessaging.Compliance;

/// <summary>The first problem <see cref="AuditLog.VerifyAsync"/> found.</summary>
public enum AuditProblem
{
    /// <summary>No problem: the log verifies.</summary>
    None = 0,

    /// <summary>A record's content does not match its hash, or it cannot be read: it was edited.</summary>
    RecordModified = 1,

    /// <summary>A record is missing from the middle of the log: it was deleted.</summary>
    RecordMissing = 2,

    /// <summary>A record that the log never appended sits in the chain: it was inserted.</summary>
    RecordInserted = 3,

    /// <summary>A record sits at another record's position: records were reordered.</summary>
    RecordsReordered = 4,

    /// <summary>A record does not chain to its predecessor's hash.</summary>
    ChainBroken = 5,

    /// <summary>Records the signed head or a checkpoint covers are gone from the end of the log: it was truncated.</summary>
    Truncated = 6,

    /// <summary>
    /// A signed checkpoint or the head names a hash that the records no longer produce: records before it were
    /// rewritten with their hashes recomputed.
    /// </summary>
    CheckpointMismatch = 7,

    /// <summary>A checkpoint or the head has a bad signature or was signed by a key that is not trusted.</summary>
    BadSignature = 8,

    /// <summary>The signed head is missing although the log holds signed records, or more records follow it than a crash can leave.</summary>
    UnsignedRecords = 9,
}

/// <summary>The outcome of <see cref="AuditLog.VerifyAsync"/>.</summary>
public sealed class AuditVerificationResult
{
    internal AuditVerificationResult(long recordCount, AuditProblem problem, long? firstBadIndex)
    {
        RecordCount = recordCount;
        Problem = problem;
        FirstBadIndex = firstBadIndex;
    }

    /// <summary><see langword="true"/> when no problem was found.</summary>
    public bool IsValid => Problem == AuditProblem.None;

    /// <summary>The number of records read.</summary>
    public long RecordCount { get; }

    /// <summary>The first problem found, or <see cref="AuditProblem.None"/>.</summary>
    public AuditProblem Problem { get; }

    /// <summary>
    /// The sequence number (position) of the first record that is not trustworthy; <see langword="null"/> when the log
    /// is valid. For <see cref="AuditProblem.Truncated"/> it is the first missing position; for
    /// <see cref="AuditProblem.CheckpointMismatch"/> and <see cref="AuditProblem.BadSignature"/> the position the
    /// checkpoint covers (the rewrite happened at or before it).
    /// </summary>
    public long? FirstBadIndex { get; }

    /// <summary>Describes the result.</summary>
    /// <returns>The result as text.</returns>
    public override string ToString() => IsValid
        ? $"AuditVerificationResult {{ IsValid = True, RecordCount = {RecordCount} }}"
        : $"AuditVerificationResult {{ IsValid = False, Problem = {Problem}, FirstBadIndex = {FirstBadIndex}, RecordCount = {RecordCount} }}";
}

/// <summary>Options of an <see cref="AuditLog"/>.</summary>
public sealed class AuditLogOptions
{
    /// <summary>A signed checkpoint is kept every this many records. Default 100; at least 1.</summary>
    public int CheckpointInterval { get; set; } = 100;

    /// <summary>
    /// Earlier Ed25519 public keys of this device whose checkpoints still verify (after the identity key changed).
    /// Default empty: only the current signer's key is trusted.
    /// </summary>
    public IList<ReadOnlyMemory<byte>> PreviousSigningKeys { get; } = [];

    /// <summary>Names the type and the interval.</summary>
    /// <returns>The options as text.</returns>
    public override string ToString() => $"AuditLogOptions {{ CheckpointInterval = {CheckpointInterval} }}";
}
