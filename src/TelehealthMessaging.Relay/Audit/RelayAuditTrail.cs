using System.Runtime.CompilerServices;
using Npgsql;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Relay.Api;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>
/// The relay instance's audit trail: a <see cref="AuditLog"/> kept in the relay's database, one hash chain per
/// instance (<see cref="InstanceId"/>), signed with the instance's own Ed25519 key. Records registrations (and refused
/// ones), refused identity-key changes, revocations, clinic joins and leaves, work-item claims, prekey bundle claims,
/// purges of expired envelopes and exports of this trail: ids, enums, times, outcomes and counts only. Resolve it from
/// the relay's services.
/// </summary>
public sealed partial class RelayAuditTrail : IAsyncDisposable
{
    private readonly AuditLog _log;
    private readonly RelayAuditKey? _ownedKey;
    private readonly NpgsqlDataSource? _ownedDataSource;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private RelayPurgeReport? _lastPurge;

    private RelayAuditTrail(DeviceId instanceId, AuditSigner signer, IDataStore store, RelayAuditKey? ownedKey, NpgsqlDataSource? ownedDataSource, RelayMetrics metrics, TimeProvider timeProvider, ILogger logger)
    {
        InstanceId = instanceId;
        SigningKey = signer.PublicKey;
        _log = new AuditLog(store, instanceId, signer, timeProvider);
        _ownedKey = ownedKey;
        _ownedDataSource = ownedDataSource;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>This instance's id: the recording device of its audit records, and the id of its chain.</summary>
    public DeviceId InstanceId { get; }

    /// <summary>The Ed25519 public key that verifies this instance's signed heads and checkpoints.</summary>
    public ReadOnlyMemory<byte> SigningKey { get; }

    /// <summary>The last purge this instance ran, or <see langword="null"/> before the first one.</summary>
    public RelayPurgeReport? LastPurge => Volatile.Read(ref _lastPurge);

    /// <summary>Reads this instance's records in order, without verifying them.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, from sequence 0.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: a stored record cannot be read.</exception>
    public async IAsyncEnumerable<AuditRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (AuditRecord record in _log.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    /// <summary>Verifies this instance's chain: hashes, links, order, checkpoints and the signed head.</summary>
    /// <param name="trustedCheckpoint">A checkpoint kept outside the database, to catch a rollback of the whole database.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the chain verifies and, if not, the first problem and its position.</returns>
    public Task<AuditVerificationResult> VerifyAsync(AuditCheckpoint? trustedCheckpoint = null, CancellationToken cancellationToken = default) =>
        _log.VerifyAsync(trustedCheckpoint, cancellationToken);

    /// <summary>Signs a checkpoint of the chain as it is now; keep it outside the relay's database.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="InvalidOperationException">Nothing has been recorded yet.</exception>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the end of the chain does not match its signed head.</exception>
    public Task<AuditCheckpoint> CheckpointAsync(CancellationToken cancellationToken = default) => _log.CheckpointAsync(cancellationToken);

    /// <summary>
    /// Exports this instance's records as a FHIR R4 Bundle of <c>AuditEvent</c>s, then records the export (its count
    /// is the number of records exported), so that every export is itself in the trail.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The Bundle JSON.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: a record cannot be read, or the export cannot be recorded.</exception>
    public async Task<string> ExportFhirAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<AuditRecord>();
        await foreach (AuditRecord record in _log.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }

        string bundle = FhirExport.ToAuditEventBundle(records);

        // An export that cannot be recorded is not handed out.
        await _log.AppendAsync(RelayAuditEntries.Export(InstanceId, records.Count), cancellationToken).ConfigureAwait(false);
        return bundle;
    }

    /// <summary>Releases the instance's key and database connections.</summary>
    /// <returns>A task that completes once released.</returns>
    public async ValueTask DisposeAsync()
    {
        _log.Dispose();
        _ownedKey?.Dispose();
        if (_ownedDataSource is not null)
        {
            await _ownedDataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Names the instance.</summary>
    /// <returns>The trail as text.</returns>
    public override string ToString() => $"RelayAuditTrail {{ InstanceId = {InstanceId} }}";

    /// <summary>Opens the trail the options describe: the host's signer, or the key file (created when <paramref name="createKey"/>).</summary>
    internal static RelayAuditTrail Open(RelayOptions options, RelayMetrics metrics, ILogger logger, bool createKey = true)
    {
        RelayAuditKey? key = null;
        DeviceId instanceId;
        AuditSigner signer;
        if (options.AuditSigner is { } hostSigner)
        {
            (instanceId, signer) = (new DeviceId(options.AuditInstanceId!), hostSigner);
        }
        else
        {
            key = createKey ? RelayAuditKey.LoadOrCreate(options.ResolvedAuditKeyPath) : RelayAuditKey.Load(options.ResolvedAuditKeyPath);
            (instanceId, signer) = (key.InstanceId, key.Signer);
        }

        NpgsqlDataSource? dataSource = null;
        IDataStore store;
        if (options.StorageProvider == RelayStorageProvider.PostgreSql)
        {
            dataSource = NpgsqlDataSource.Create(options.PostgresConnectionString!);
            store = RelayAuditDataStore.ForPostgres(instanceId.Value, dataSource);
        }
        else
        {
            store = RelayAuditDataStore.ForSqlite(instanceId.Value, options.SqlitePath);
        }

        return new RelayAuditTrail(instanceId, signer, store, key, dataSource, metrics, options.TimeProvider, logger);
    }

    /// <summary>
    /// Records an operation that has taken effect, then returns its answer; if the record cannot be appended the
    /// client gets 503 <c>audit_unavailable</c> instead (retryable: every audited operation is safe to repeat).
    /// </summary>
    internal async Task<IResult> AnswerAsync(AuditEntry? entry, IResult answer)
    {
        if (entry is null || await TryRecordAsync(entry).ConfigureAwait(false))
        {
            return answer;
        }

        return RelayProblem.Create(StatusCodes.Status503ServiceUnavailable, "audit_unavailable", "The relay could not record the operation in its audit trail; it may have taken effect. Retry the request.", retryAfter: TimeSpan.FromSeconds(1));
    }

    /// <summary>Keeps a purge's result, counts its envelopes and records it when it deleted any.</summary>
    internal async Task<RelayPurgeReport> RecordPurgeAsync(RelayPurgeResult result)
    {
        bool audited = result.Envelopes == 0 || await TryRecordAsync(RelayAuditEntries.Purge(InstanceId, result.Envelopes)).ConfigureAwait(false);
        _metrics.PurgedEnvelopes.Add(result.Envelopes);
        var report = new RelayPurgeReport(_timeProvider.GetUtcNow(), result.Envelopes, result.ExpiredBlobIds.Count, audited);
        Volatile.Write(ref _lastPurge, report);
        return report;
    }

    private async Task<bool> TryRecordAsync(AuditEntry entry)
    {
        try
        {
            // Not the request's token: the operation has taken effect, so a client hanging up must not cancel its record.
            await _log.AppendAsync(entry, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TelehealthException or System.Data.Common.DbException or IOException or TimeoutException)
        {
            _metrics.AuditFailures.Add(1);
            LogAppendFailed(_logger, entry.Action.ToString(), ex.GetType().Name, ex is TelehealthException t ? t.ErrorCode.ToString() : "-");
            return false;
        }
    }

    [LoggerMessage(EventId = 4400, Level = LogLevel.Error, Message = "Relay audit trail could not record {Action} ({ExceptionType}, {ErrorCode})")]
    private static partial void LogAppendFailed(ILogger logger, string action, string exceptionType, string errorCode);
}

/// <summary>What the relay's last purge of expired data did.</summary>
/// <param name="CompletedAt">When it finished (the relay's clock).</param>
/// <param name="Envelopes">Expired envelopes deleted.</param>
/// <param name="Blobs">Expired attachment blobs deleted.</param>
/// <param name="Audited">Whether the purge is in the audit trail: <see langword="true"/> when it was recorded or deleted no envelope.</param>
public sealed record RelayPurgeReport(DateTimeOffset CompletedAt, int Envelopes, int Blobs, bool Audited);
