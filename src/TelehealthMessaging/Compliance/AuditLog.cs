using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Compliance;

/// <summary>
/// A tamper-evident, append-only log of security-relevant events, kept in an <see cref="IDataStore"/> scope of its own
/// (<see cref="Scope"/>) that conversation erasure never touches.
/// </summary>
/// <remarks>
/// <para>
/// Each record is hash-chained: its hash is SHA-256 over the previous record's hash and the record's canonical binary
/// encoding (docs/compliance.md, "Audit log encoding"), so an edit, deletion, insertion or reordering breaks the chain
/// at that record. A hash chain alone cannot reveal records cut off the end, nor a chain recomputed by someone
/// with write access to the store. So after every append the log signs a <em>head</em> (the last sequence number and
/// its hash) with the device's key, and every <see cref="AuditLogOptions.CheckpointInterval"/> records (and on
/// <see cref="CheckpointAsync"/>) it also keeps a signed <see cref="AuditCheckpoint"/> in the log's history.
/// Records cut off the end leave the head naming a record that is gone; a recomputed chain no longer matches the
/// signed hashes. Replacing the head with an older signed head (rolling the whole store back) can only be caught
/// against a checkpoint kept elsewhere: pass it to <see cref="VerifyAsync"/>.
/// </para>
/// <para>
/// Writes are ordered record, checkpoint, head, each atomic. A crash can therefore leave at most one record after
/// the signed head; verification accepts exactly that, and the next append (or <see cref="CheckpointAsync"/>) signs it.
/// The price: the one newest record after a crash is not yet protected against removal.
/// </para>
/// <para>
/// Appends are serialised and safe to call concurrently. Use one <see cref="AuditLog"/> per store: two instances over
/// the same store would interleave sequence numbers.
/// </para>
/// </remarks>
public sealed class AuditLog : IDisposable
{
    /// <summary>The data-store scope that holds the log.</summary>
    public const string Scope = "audit";

    private const string RecordsCollection = "records";
    private const string CheckpointsCollection = "checkpoints";
    private const string HeadCollection = "head";
    private static readonly DataRecordKey HeadKey = new(Scope, HeadCollection, "current");

    private readonly IDataStore _store;
    private readonly DeviceId _device;
    private readonly AuditSigner _signer;
    private readonly TimeProvider _timeProvider;
    private readonly int _checkpointInterval;
    private readonly byte[][] _trustedKeys;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private bool _loaded;
    private long _next;
    private byte[] _lastHash = AuditEncoding.GenesisHash;

    /// <summary>Opens the log kept in <paramref name="store"/>.</summary>
    /// <param name="store">Where the log lives.</param>
    /// <param name="device">The device that records the events.</param>
    /// <param name="signer">Signs heads and checkpoints with the device's key.</param>
    /// <param name="timeProvider">Stamps records and checkpoints; <see cref="TimeProvider.System"/> when omitted.</param>
    /// <param name="options">Options; defaults when omitted.</param>
    /// <exception cref="ArgumentException"><paramref name="device"/> is the default value, or an option is out of range.</exception>
    public AuditLog(IDataStore store, DeviceId device, AuditSigner signer, TimeProvider? timeProvider = null, AuditLogOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(signer);
        if (device.Value is null)
        {
            throw new ArgumentException("The device must be a valid device id, not the default value.", nameof(device));
        }

        options ??= new AuditLogOptions();
        if (options.CheckpointInterval < 1)
        {
            throw new ArgumentException("CheckpointInterval must be at least 1.", nameof(options));
        }

        if (options.PreviousSigningKeys.Any(k => k.Length != AuditEncoding.PublicKeySize))
        {
            throw new ArgumentException($"Every previous signing key must be {AuditEncoding.PublicKeySize} bytes.", nameof(options));
        }

        _store = store;
        _device = device;
        _signer = signer;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _checkpointInterval = options.CheckpointInterval;
        _trustedKeys = [signer.PublicKey.ToArray(), .. options.PreviousSigningKeys.Select(k => k.ToArray())];
    }

    /// <summary>Appends an event and signs the new head.</summary>
    /// <param name="entry">The event.</param>
    /// <param name="cancellationToken">Cancels the call; the record may or may not have been appended.</param>
    /// <returns>The stored record.</returns>
    /// <exception cref="TelehealthException">
    /// <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the end of the stored log does not match its signed
    /// head (it was tampered with), so appending would sign over the damage; run <see cref="VerifyAsync"/>.
    /// </exception>
    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
            long sequence = _next;
            DateTimeOffset now = _timeProvider.GetUtcNow();
            (byte[] stored, byte[] hash) = AuditEncoding.EncodeRecord(sequence, now, _device, entry, _lastHash);
            try
            {
                await _store.SetAsync(RecordKey(sequence), stored, cancellationToken).ConfigureAwait(false);
                _next = sequence + 1;
                _lastHash = hash;
                await SignHeadAsync(sequence, hash, keepCheckpoint: (sequence + 1) % _checkpointInterval == 0, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Whatever reached the store is the truth: read it again before the next append.
                _loaded = false;
                throw;
            }

            return AuditEncoding.DecodeRecord(stored);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Signs a checkpoint of the log as it is now and keeps it in the log's history.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The checkpoint, to keep outside the device and pass to <see cref="VerifyAsync"/> later.</returns>
    /// <exception cref="InvalidOperationException">The log is empty.</exception>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: as for <see cref="AppendAsync"/>.</exception>
    public async Task<AuditCheckpoint> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
            if (_next == 0)
            {
                throw new InvalidOperationException("The audit log is empty: there is nothing to checkpoint.");
            }

            try
            {
                return await SignHeadAsync(_next - 1, _lastHash, keepCheckpoint: true, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _loaded = false;
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads the records in order. Does not verify them: use <see cref="VerifyAsync"/> for that.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, from sequence 0.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: a stored record cannot be read.</exception>
    public async IAsyncEnumerable<AuditRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> names = await _store.ListAsync(Scope, RecordsCollection, cancellationToken).ConfigureAwait(false);
        foreach (string name in names)
        {
            byte[]? stored = await _store.GetAsync(new DataRecordKey(Scope, RecordsCollection, name), cancellationToken).ConfigureAwait(false);
            if (stored is null)
            {
                continue;
            }

            AuditRecord record;
            try
            {
                record = AuditEncoding.DecodeRecord(stored);
            }
            catch (FormatException ex)
            {
                throw new TelehealthException(TelehealthErrorCode.IntegrityCheckFailed, $"Audit record '{name}' cannot be read.", ex);
            }

            yield return record;
        }
    }

    /// <summary>
    /// Checks the whole log: every record's hash and link, the order of sequence numbers, every kept checkpoint, the
    /// signed head, and optionally a checkpoint kept elsewhere.
    /// </summary>
    /// <param name="trustedCheckpoint">
    /// A checkpoint obtained earlier from <see cref="CheckpointAsync"/> and kept outside the store; detects a rollback
    /// of the whole store, which the store's own signed head cannot.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the log verifies and, if not, the first problem and the first record that is not trustworthy.</returns>
    public async Task<AuditVerificationResult> VerifyAsync(AuditCheckpoint? trustedCheckpoint = null, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await VerifyCoreAsync(trustedCheckpoint, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Releases the lock that serialises writes. The store is not disposed.</summary>
    public void Dispose() => _gate.Dispose();

    /// <summary>Names the type and the device.</summary>
    /// <returns>The log as text.</returns>
    public override string ToString() => $"AuditLog {{ Device = {_device} }}";

    private static DataRecordKey RecordKey(long sequence) => new(Scope, RecordsCollection, SequenceName(sequence));

    private static string SequenceName(long sequence) => sequence.ToString("D20", CultureInfo.InvariantCulture);

    private static bool TryParseSequence(string name, out long sequence) =>
        long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && name == SequenceName(sequence);

    private async Task<AuditCheckpoint> SignHeadAsync(long sequence, byte[] hash, bool keepCheckpoint, CancellationToken cancellationToken)
    {
        byte[] publicKey = _signer.PublicKey.ToArray();
        byte[] payload = AuditEncoding.CheckpointPayload(sequence, hash, _timeProvider.GetUtcNow(), publicKey);
        byte[] signature = _signer.Sign(AuditEncoding.SignedMessage(payload));
        byte[] encoded = [.. payload, .. signature];

        // History first, head last: a crash in between leaves a head that still names a stored record.
        if (keepCheckpoint)
        {
            await _store.SetAsync(new DataRecordKey(Scope, CheckpointsCollection, SequenceName(sequence)), encoded, cancellationToken).ConfigureAwait(false);
        }

        await _store.SetAsync(HeadKey, encoded, cancellationToken).ConfigureAwait(false);
        return AuditEncoding.DecodeCheckpoint(encoded);
    }

    // Finds the end of the stored log and repairs the one state a crash can leave: a record after the signed head.
    private async Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        IReadOnlyList<string> names = await _store.ListAsync(Scope, RecordsCollection, cancellationToken).ConfigureAwait(false);
        AuditCheckpoint? head = await ReadCheckpointAsync(HeadKey, cancellationToken).ConfigureAwait(false);
        if (names.Count == 0)
        {
            if (head is not null)
            {
                throw Tampered();
            }

            (_next, _lastHash, _loaded) = (0, AuditEncoding.GenesisHash, true);
            return;
        }

        if (!TryParseSequence(names[^1], out long last))
        {
            throw Tampered();
        }

        AuditRecord tail = await ReadVerifiedRecordAsync(last, cancellationToken).ConfigureAwait(false) ?? throw Tampered();
        bool headIsCurrent = head is not null && IsTrusted(head) && head.Sequence == last && CryptographicOperations.FixedTimeEquals(head.HashBytes, tail.HashBytes);
        if (!headIsCurrent)
        {
            bool crashedBeforeHead = head is null
                ? last == 0 && tail.PreviousHashBytes.AsSpan().SequenceEqual(AuditEncoding.GenesisHash)
                : IsTrusted(head) && head.Sequence == last - 1 && CryptographicOperations.FixedTimeEquals(head.HashBytes, tail.PreviousHashBytes);
            if (!crashedBeforeHead)
            {
                throw Tampered();
            }

            await SignHeadAsync(last, tail.HashBytes, keepCheckpoint: (last + 1) % _checkpointInterval == 0, cancellationToken).ConfigureAwait(false);
        }

        (_next, _lastHash, _loaded) = (last + 1, tail.HashBytes, true);
    }

    private static TelehealthException Tampered() => new(
        TelehealthErrorCode.IntegrityCheckFailed,
        "The end of the audit log does not match its signed head; nothing was appended. Run AuditLog.VerifyAsync to locate the damage.");

    private bool IsTrusted(AuditCheckpoint checkpoint) =>
        _trustedKeys.Any(k => k.AsSpan().SequenceEqual(checkpoint.PublicKeyBytes)) && checkpoint.IsSignatureValid();

    private async Task<AuditCheckpoint?> ReadCheckpointAsync(DataRecordKey key, CancellationToken cancellationToken)
    {
        byte[]? stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        try
        {
            return AuditEncoding.DecodeCheckpoint(stored);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new TelehealthException(TelehealthErrorCode.IntegrityCheckFailed, "An audit checkpoint cannot be read.", ex);
        }
    }

    // The record at a sequence number if it is stored, readable, in place and matches its hash; else null.
    private async Task<AuditRecord?> ReadVerifiedRecordAsync(long sequence, CancellationToken cancellationToken)
    {
        byte[]? stored = await _store.GetAsync(RecordKey(sequence), cancellationToken).ConfigureAwait(false);
        return stored is null ? null : DecodeVerified(stored, out AuditRecord? record) && record!.Sequence == sequence ? record : null;
    }

    private static bool DecodeVerified(byte[] stored, out AuditRecord? record)
    {
        try
        {
            record = AuditEncoding.DecodeRecord(stored);
        }
        catch (FormatException)
        {
            record = null;
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(AuditEncoding.ComputeHash(stored), record.HashBytes);
    }

    private async Task<AuditVerificationResult> VerifyCoreAsync(AuditCheckpoint? trustedCheckpoint, CancellationToken cancellationToken)
    {
        var findings = new Findings();
        IReadOnlyList<string> names = await _store.ListAsync(Scope, RecordsCollection, cancellationToken).ConfigureAwait(false);

        // Pass 1: load every record, so that a misplaced record can be told apart from a deleted one.
        var records = new List<AuditRecord?>(names.Count);
        foreach (string name in names)
        {
            byte[]? stored = await _store.GetAsync(new DataRecordKey(Scope, RecordsCollection, name), cancellationToken).ConfigureAwait(false);
            records.Add(stored is not null && DecodeVerified(stored, out AuditRecord? record) ? record : null);
        }

        // Pass 2: walk the chain; the first break ends it, and only the records before it count as verified.
        var hashes = new List<byte[]>(names.Count);
        byte[] previous = AuditEncoding.GenesisHash;
        for (int position = 0; position < names.Count; position++)
        {
            AuditProblem problem = CheckPosition(names, records, position, previous, out long badIndex);
            if (problem != AuditProblem.None)
            {
                findings.Report(badIndex, problem);
                break;
            }

            previous = records[position]!.HashBytes;
            hashes.Add(previous);
        }

        long count = names.Count;

        // Pass 3: every signed statement about the chain.
        long lastCovered = -1;
        foreach (string name in await _store.ListAsync(Scope, CheckpointsCollection, cancellationToken).ConfigureAwait(false))
        {
            AuditCheckpoint? checkpoint = await TryReadCheckpointAsync(new DataRecordKey(Scope, CheckpointsCollection, name), cancellationToken).ConfigureAwait(false);
            if (checkpoint is null || !TryParseSequence(name, out long sequence) || sequence != checkpoint.Sequence)
            {
                findings.Report(TryParseSequence(name, out long at) ? at : 0, AuditProblem.BadSignature);
                continue;
            }

            if (CheckCheckpoint(checkpoint, hashes, count, findings))
            {
                lastCovered = Math.Max(lastCovered, checkpoint.Sequence);
            }
        }

        byte[]? headBytes = await _store.GetAsync(HeadKey, cancellationToken).ConfigureAwait(false);
        if (headBytes is null)
        {
            // Only a crash before the very first head write leaves records without a head, and then only one.
            if (count > 1)
            {
                findings.Report(lastCovered + 1, AuditProblem.UnsignedRecords);
            }
        }
        else if (!TryDecodeCheckpoint(headBytes, out AuditCheckpoint? head))
        {
            findings.Report(lastCovered + 1, AuditProblem.BadSignature);
        }
        else if (CheckCheckpoint(head!, hashes, count, findings) && head!.Sequence + 2 < count)
        {
            // One record after the head is what a crash between the record write and the head write leaves.
            findings.Report(head.Sequence + 2, AuditProblem.UnsignedRecords);
        }

        if (trustedCheckpoint is not null)
        {
            CheckCheckpoint(trustedCheckpoint, hashes, count, findings);
        }

        return new AuditVerificationResult(count, findings.Problem, findings.Index);
    }

    private static AuditProblem CheckPosition(IReadOnlyList<string> names, List<AuditRecord?> records, int position, byte[] previous, out long badIndex)
    {
        badIndex = position;
        if (!TryParseSequence(names[position], out long named))
        {
            return AuditProblem.RecordInserted;
        }

        if (named != position)
        {
            // Names are unique and sorted, so a name past its position means the records before it are gone.
            return AuditProblem.RecordMissing;
        }

        AuditRecord? record = records[position];
        if (record is null)
        {
            return AuditProblem.RecordModified;
        }

        if (record.Sequence > position)
        {
            // Its own record elsewhere means the two swapped places; nowhere means the records were shifted over a deletion.
            return records.Skip(position + 1).Any(r => r?.Sequence == position) ? AuditProblem.RecordsReordered : AuditProblem.RecordMissing;
        }

        if (record.Sequence < position)
        {
            // Two records claim the same place: a record was slipped in and the rest shifted up. The genuine one is
            // the one the next record chains to.
            bool thisOneIsChainedTo = position + 1 < records.Count && records[position + 1] is { } next &&
                next.PreviousHashBytes.AsSpan().SequenceEqual(record.HashBytes);
            badIndex = thisOneIsChainedTo ? position - 1 : position;
            return AuditProblem.RecordInserted;
        }

        return record.PreviousHashBytes.AsSpan().SequenceEqual(previous) ? AuditProblem.None : AuditProblem.ChainBroken;
    }

    // Reports what is wrong with one signed statement; true when it is sound.
    private bool CheckCheckpoint(AuditCheckpoint checkpoint, List<byte[]> hashes, long count, Findings findings)
    {
        if (!IsTrusted(checkpoint))
        {
            findings.Report(checkpoint.Sequence, AuditProblem.BadSignature);
            return false;
        }

        if (checkpoint.Sequence >= count)
        {
            findings.Report(count, AuditProblem.Truncated);
            return false;
        }

        if (checkpoint.Sequence >= hashes.Count)
        {
            // Beyond a break already reported at a lower index: nothing more to learn from it.
            return true;
        }

        if (!CryptographicOperations.FixedTimeEquals(hashes[(int)checkpoint.Sequence], checkpoint.HashBytes))
        {
            findings.Report(checkpoint.Sequence, AuditProblem.CheckpointMismatch);
            return false;
        }

        return true;
    }

    private async Task<AuditCheckpoint?> TryReadCheckpointAsync(DataRecordKey key, CancellationToken cancellationToken)
    {
        byte[]? stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return stored is not null && TryDecodeCheckpoint(stored, out AuditCheckpoint? checkpoint) ? checkpoint : null;
    }

    private static bool TryDecodeCheckpoint(byte[] stored, out AuditCheckpoint? checkpoint)
    {
        try
        {
            checkpoint = AuditEncoding.DecodeCheckpoint(stored);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            checkpoint = null;
            return false;
        }
    }

    // Keeps the problem with the lowest index; on a tie, the first reported (record problems come first).
    private sealed class Findings
    {
        public AuditProblem Problem { get; private set; }

        public long? Index { get; private set; }

        public void Report(long index, AuditProblem problem)
        {
            if (Index is null || index < Index)
            {
                (Index, Problem) = (index, problem);
            }
        }
    }
}
