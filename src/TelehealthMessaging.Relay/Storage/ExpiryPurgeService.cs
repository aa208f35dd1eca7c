using System.Diagnostics;
using TelehealthMessaging.Relay.Attachments;
using TelehealthMessaging.Relay.Audit;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// Deletes expired envelopes, delivered-id records, nonces, work-item claims and attachment blobs every
/// <see cref="RelayOptions.PurgeInterval"/>; a purge that deleted envelopes is recorded in the audit trail with their
/// count, counted on <c>telehealth.relay.purged_envelopes</c>, and kept as <see cref="RelayAuditTrail.LastPurge"/>.
/// </summary>
internal sealed partial class ExpiryPurgeService(IRelayStore store, AttachmentFiles files, RelayAuditTrail audit, RelayOptions options, ILogger<ExpiryPurgeService> logger) : BackgroundService
{
    /// <summary>Runs one purge now; the periodic loop and tests both call it.</summary>
    public async Task<RelayPurgeResult> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        RelayPurgeResult result = await store.PurgeExpiredAsync(options.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        foreach (string blobId in result.ExpiredBlobIds)
        {
            files.Delete(blobId);
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            LogPurged(logger, result.Envelopes, result.ExpiredBlobIds.Count, result.Nonces, result.DeliveredIds, result.WorkItemClaims, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        // The deletion has happened: an audit failure is logged and counted by the trail and shows in LastPurge.Audited.
        await audit.RecordPurgeAsync(result).ConfigureAwait(false);
        return result;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.PurgeInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.PurgeInterval, options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await PurgeOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A failed purge is retried at the next tick; the relay keeps serving.
                    LogPurgeFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Information, Message = "Relay purge deleted {Envelopes} expired envelopes, {Blobs} blobs, {Nonces} nonces, {DeliveredIds} delivered ids, {WorkItemClaims} work-item claims in {ElapsedMs} ms")]
    private static partial void LogPurged(ILogger logger, int envelopes, int blobs, int nonces, int deliveredIds, int workItemClaims, double elapsedMs);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Relay purge failed ({ExceptionType}); retrying at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, string exceptionType);
}
