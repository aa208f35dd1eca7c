using System.Diagnostics;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>Migrates the schema while the host starts, before the server accepts its first request.</summary>
internal sealed partial class RelayStoreInitializer(IRelayStore store, ILogger<RelayStoreInitializer> logger) : IHostedLifecycleService
{
    // StartingAsync runs before any hosted service's StartAsync, including the web server's.
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogMigrated(logger, store.GetType().Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Relay store {Store} schema is current ({ElapsedMs} ms)")]
    private static partial void LogMigrated(ILogger logger, string store, double elapsedMs);
}
