using Npgsql;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Delivery;

/// <summary>
/// Holds one PostgreSQL connection in LISTEN on the mailbox channel and wakes this instance's WebSocket sessions when
/// any instance stores envelopes. Reconnects with backoff; after a reconnect every session is woken once because
/// notifications sent while disconnected are lost.
/// </summary>
internal sealed partial class PostgresMailboxListener(PostgresRelayStore store, MailboxSignal signal, RelayOptions options, ILogger<PostgresMailboxListener> logger) : BackgroundService
{
    private volatile TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes while a LISTEN is in place; replaced by a pending task when the connection is lost (tests wait on it).</summary>
    public Task Listening => _listening.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan backoff = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using NpgsqlConnection connection = await store.OpenListenerConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    // This instance handed its own submissions to its sessions, and closed its own revoked devices' ones.
                    (string mailbox, bool revoked, bool own) = store.ParseNotification(e.Payload);
                    if (own)
                    {
                        return;
                    }

                    if (revoked)
                    {
                        signal.Close(mailbox);
                    }
                    else
                    {
                        signal.Notify(mailbox);
                    }
                };
                await using (var command = new NpgsqlCommand($"LISTEN {PostgresRelayStore.NotificationChannel};", connection))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                backoff = TimeSpan.FromMilliseconds(100);
                signal.NotifyAll();
                _listening.TrySetResult();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException)
            {
                if (_listening.Task.IsCompleted)
                {
                    _listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                LogListenerFailed(logger, backoff.TotalMilliseconds, ex.GetType().Name);
                await Task.Delay(backoff, options.TimeProvider, stoppingToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Relay notification listener lost its PostgreSQL connection ({ExceptionType}); reconnecting in {DelayMs} ms")]
    private static partial void LogListenerFailed(ILogger logger, double delayMs, string exceptionType);
}
