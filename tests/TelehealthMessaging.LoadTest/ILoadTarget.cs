namespace TelehealthMessaging.LoadTest;

/// <summary>A system under load: the relay (SQLite or PostgreSQL), the ceiling forwarder, or NATS JetStream.</summary>
internal interface ILoadTarget : IAsyncDisposable
{
    /// <summary>The server process whose CPU and memory are measured.</summary>
    ServerProcess Server { get; }

    /// <summary>Starts the server and registers (or provisions) every device.</summary>
    Task StartAsync(IReadOnlyList<DevicePair> pairs, CancellationToken ct);

    /// <summary>
    /// Connects the pair's recipient and returns once its connection is open; envelopes then go to
    /// <see cref="DevicePair.OnReceived"/> and are acknowledged, until <paramref name="ct"/> is cancelled.
    /// </summary>
    Task ConnectRecipientAsync(DevicePair pair, CancellationToken ct);

    /// <summary>
    /// Opens the pair's sender connection, as an app in the foreground keeps its socket open (the relay's senders
    /// then submit as frames on it); a target whose senders share connections does nothing here.
    /// </summary>
    Task ConnectSenderAsync(DevicePair pair, CancellationToken ct);

    /// <summary>Submits a batch from the pair's sender; returns once the server has accepted it durably.</summary>
    Task SendAsync(DevicePair pair, IReadOnlyList<(MessageId Id, byte[] Data)> batch, CancellationToken ct);
}
