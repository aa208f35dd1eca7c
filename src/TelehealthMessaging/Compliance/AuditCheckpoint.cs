namespace TelehealthMessaging.Compliance;

/// <summary>
/// A signed statement that the audit log's record <see cref="Sequence"/> has chain hash <see cref="Hash"/>: it
/// commits to every record up to and including that one. Keep the latest one outside the device (for example on the
/// clinic's server) and pass it to <see cref="AuditLog.VerifyAsync"/> to detect a rollback of the whole store.
/// </summary>
public sealed class AuditCheckpoint
{
    private readonly byte[] _hash;
    private readonly byte[] _publicKey;
    private readonly byte[] _signature;

    internal AuditCheckpoint(long sequence, byte[] hash, DateTimeOffset signedAt, byte[] publicKey, byte[] signature)
    {
        Sequence = sequence;
        _hash = hash;
        SignedAt = signedAt;
        _publicKey = publicKey;
        _signature = signature;
    }

    /// <summary>The last record the checkpoint covers.</summary>
    public long Sequence { get; }

    /// <summary>The chain hash of that record.</summary>
    public ReadOnlyMemory<byte> Hash => _hash;

    /// <summary>When the checkpoint was signed.</summary>
    public DateTimeOffset SignedAt { get; }

    /// <summary>The Ed25519 public key that signed it.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>The Ed25519 signature.</summary>
    public ReadOnlyMemory<byte> Signature => _signature;

    /// <summary>Reads a checkpoint from <see cref="ToBytes"/>'s output.</summary>
    /// <param name="bytes">The encoded checkpoint.</param>
    /// <returns>The checkpoint; its signature is checked by <see cref="AuditLog.VerifyAsync"/>, not here.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.InvalidFormat"/>: the bytes are not a checkpoint.</exception>
    public static AuditCheckpoint FromBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return AuditEncoding.DecodeCheckpoint(bytes);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "The bytes are not an audit checkpoint.", ex);
        }
    }

    /// <summary>Encodes the checkpoint (payload and signature, 145 bytes) for keeping elsewhere.</summary>
    /// <returns>The encoded checkpoint.</returns>
    public byte[] ToBytes() => [.. Payload(), .. _signature];

    /// <summary>Describes the checkpoint by sequence number and time.</summary>
    /// <returns>The checkpoint as text.</returns>
    public override string ToString() => $"AuditCheckpoint {{ Sequence = {Sequence}, SignedAt = {Fhir.FhirFormat.DateTime(SignedAt)} }}";

    internal byte[] Payload() => AuditEncoding.CheckpointPayload(Sequence, _hash, SignedAt, _publicKey);

    internal byte[] HashBytes => _hash;

    internal byte[] PublicKeyBytes => _publicKey;

    internal bool IsSignatureValid() =>
        Crypto.Ed25519.Verify(_publicKey, AuditEncoding.SignedMessage(Payload()), _signature);
}
