using System.Globalization;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Fhir;

namespace TelehealthMessaging;

/// <summary>
/// What an app shows an auditor: consents, the tamper-evident audit log, retention and erasure. Reached through
/// <see cref="TelehealthClient.Compliance"/>. See docs/compliance.md for the requirement-by-requirement map.
/// </summary>
public sealed class ComplianceClient
{
    private readonly TelehealthClient _client;

    internal ComplianceClient(TelehealthClient client) => _client = client;

    /// <summary>Records this user's consent to a purpose under a notice version (audited).</summary>
    /// <param name="purpose">The purpose.</param>
    /// <param name="noticeVersion">The version of the privacy notice the user saw.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The consent record.</returns>
    public async Task<ConsentRecord> GrantConsentAsync(ConsentPurpose purpose, string noticeVersion, CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _client.Consents.GrantAsync(_client.User, purpose, noticeVersion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Withdraws this user's consent to a purpose (audited); processing that needs it stops at once.</summary>
    /// <param name="purpose">The purpose.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The closed record, or <see langword="null"/> when none was active.</returns>
    public async Task<ConsentRecord?> WithdrawConsentAsync(ConsentPurpose purpose, CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _client.Consents.WithdrawAsync(_client.User, purpose, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every consent record of this user, grants and withdrawals.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The history.</returns>
    public async Task<IReadOnlyList<ConsentRecord>> GetConsentsAsync(CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _client.Consents.GetHistoryAsync(_client.User, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>This user's consents as FHIR R4 Consent resources (JSON), one per record.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The Consent resources.</returns>
    public async Task<IReadOnlyList<string>> ExportConsentsAsync(CancellationToken cancellationToken = default) =>
        (await GetConsentsAsync(cancellationToken).ConfigureAwait(false)).Select(FhirExport.ToConsent).ToList();

    /// <summary>Checks the audit log's hash chain and signed head; reports the first bad index.</summary>
    /// <param name="trustedCheckpoint">A checkpoint kept off the device, to also detect a rollback of the whole log.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verification result.</returns>
    public async Task<AuditVerificationResult> VerifyAuditLogAsync(AuditCheckpoint? trustedCheckpoint = null, CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _client.Audit.VerifyAsync(trustedCheckpoint, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The audit records, oldest first (ids, actions and times only).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The records.</returns>
    public async Task<IReadOnlyList<AuditRecord>> GetAuditLogAsync(CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<AuditRecord>();
        await foreach (AuditRecord record in _client.Audit.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }

        return records;
    }

    /// <summary>Signs a checkpoint of the audit log now, to keep off the device (for example on the app's server).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The checkpoint.</returns>
    public async Task<AuditCheckpoint> CheckpointAuditLogAsync(CancellationToken cancellationToken = default)
    {
        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await _client.Audit.CheckpointAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exports the audit log as a FHIR R4 Bundle of AuditEvents (the export itself is audited first).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The Bundle JSON.</returns>
    public async Task<string> ExportAuditLogAsync(CancellationToken cancellationToken = default)
    {
        await _client.AuditAsync(AuditAction.ExportMade, [AuditSubject.Of(_client.Device)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return FhirExport.ToAuditEventBundle(await GetAuditLogAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Erases (crypto-shreds) every conversation whose newest message is older than
    /// <see cref="TelehealthClientOptions.RetentionPeriod"/>. Each erase is audited.
    /// The client also runs this at start-up.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many conversations were erased.</returns>
    public async Task<int> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (_client.Options.RetentionPeriod is not TimeSpan retention)
        {
            return 0;
        }

        int erased = 0;
        DateTimeOffset now = _client.Time.GetUtcNow();
        foreach (Conversation conversation in await data.ListConversationsAsync(cancellationToken).ConfigureAwait(false))
        {
            IReadOnlyList<string> names = await data.Store.ListAsync(LocalData.ScopeOf(conversation.Id), "messages", cancellationToken).ConfigureAwait(false);
            DateTimeOffset lastActivity = names.Count == 0
                ? conversation.CreatedAt
                : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(names[^1].AsSpan(0, 15), CultureInfo.InvariantCulture));
            if (now - lastActivity >= retention)
            {
                await _client.EraseConversationAsync(conversation.Id, AuditAction.RetentionPurge, cancellationToken).ConfigureAwait(false);
                erased++;
            }
        }

        return erased;
    }
}
