namespace TelehealthMessaging.Relay;

/// <summary>Which database holds the relay's mailboxes, keys and nonces.</summary>
public enum RelayStorageProvider
{
    /// <summary>An embedded SQLite file (WAL mode) under <see cref="RelayOptions.DataDirectory"/>: one machine.</summary>
    Sqlite = 0,

    /// <summary>A PostgreSQL database that several relay instances may share.</summary>
    PostgreSql = 1,
}

/// <summary>Configures a relay. Bound from the <c>Relay</c> configuration section by the runnable host.</summary>
public sealed class RelayOptions
{
    /// <summary>The database kind. Default <see cref="RelayStorageProvider.Sqlite"/>.</summary>
    public RelayStorageProvider StorageProvider { get; set; } = RelayStorageProvider.Sqlite;

    /// <summary>
    /// Folder for the SQLite file (<c>relay.db</c>) and attachment blobs (<c>blobs/</c>). Default <c>relay-data</c>
    /// relative to the current directory. With several instances, point it (or <see cref="BlobDirectory"/>) at shared storage.
    /// </summary>
    public string DataDirectory { get; set; } = "relay-data";

    /// <summary>Folder for attachment blobs. Default <c>null</c>: <c>blobs</c> under <see cref="DataDirectory"/>.</summary>
    public string? BlobDirectory { get; set; }

    /// <summary>The PostgreSQL connection string; required when <see cref="StorageProvider"/> is PostgreSql.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>How long an undelivered envelope (or attachment blob) is kept. Default 30 days.</summary>
    public TimeSpan EnvelopeTimeToLive { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How often expired envelopes, blobs and nonces are purged: 1 second to 1 day, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no periodic purge (for instances that leave purging to another one). Default 5 minutes.
    /// </summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest envelope, in bytes after base64 decoding. Default 262,144 (256 KiB).</summary>
    public int MaxEnvelopeBytes { get; set; } = 256 * 1024;

    /// <summary>Most envelopes in one submission. Default 100.</summary>
    public int MaxBatchEnvelopes { get; set; } = 100;

    /// <summary>Largest JSON request body, in bytes. Default 4,194,304 (4 MiB).</summary>
    public int MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most pending envelopes one mailbox may hold; a submission beyond it gets 429. Default 10,000.</summary>
    public int MaxPendingPerMailbox { get; set; } = 10_000;

    /// <summary>Largest attachment blob, in bytes. Default 104,857,600 (100 MiB).</summary>
    public long MaxBlobBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Most one-time prekeys of each kind in one upload. Default 200.</summary>
    public int MaxPrekeysPerUpload { get; set; } = 200;

    /// <summary>Largest single prekey blob, in bytes. Default 4,096 (an ML-KEM-768 key with its signature fits).</summary>
    public int MaxPrekeyBytes { get; set; } = 4096;

    /// <summary>Requests each device may make per second, steadily. Default 50.</summary>
    public int RateLimitPerSecond { get; set; } = 50;

    /// <summary>Requests each device may make in a burst above the steady rate. Default 100.</summary>
    public int RateLimitBurst { get; set; } = 100;

    /// <summary>
    /// Failed authentications (401: unsigned, badly signed, stale, replayed or unknown-device requests) one client
    /// address may cause per minute; beyond it every request from that address is answered 429 with Retry-After before
    /// any signature is checked or the store is read, until the minute replenishes. Default 60. Behind a reverse proxy,
    /// use ASP.NET Core's forwarded-headers middleware so that the address is the client's, not the proxy's.
    /// </summary>
    public int FailedAuthenticationsPerMinute { get; set; } = 60;

    /// <summary>Most envelopes returned by one fetch or pushed per WebSocket round. Default 100.</summary>
    public int MaxFetchEnvelopes { get; set; } = 100;

    /// <summary>WebSocket keep-alive ping interval. Default 30 seconds.</summary>
    public TimeSpan WebSocketKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The file that holds this instance's audit identity: its chain id and the Ed25519 key that signs its audit trail
    /// (<see cref="Audit.RelayAuditTrail"/>). Created on first start, readable by its owner only (like an SSH host key);
    /// a file that others may read is refused. Default <c>null</c>: <c>audit-key</c> under <see cref="DataDirectory"/>.
    /// Every instance needs its own file: instances sharing one PostgreSQL database and one <see cref="DataDirectory"/>
    /// must each point this at a file of their own, or they would append to one chain.
    /// </summary>
    public string? AuditKeyPath { get; set; }

    /// <summary>
    /// Signs the audit trail with a key the host keeps (for example in an HSM) instead of the key file. Default
    /// <c>null</c>: the key file at <see cref="AuditKeyPath"/>. When set, <see cref="AuditInstanceId"/> is required.
    /// </summary>
    public Compliance.AuditSigner? AuditSigner { get; set; }

    /// <summary>
    /// The chain id of this instance when <see cref="AuditSigner"/> is set: 1 to 64 characters of <c>A-Z a-z 0-9 - .</c>,
    /// unique per instance and stable across restarts. Default <c>null</c>; ignored without <see cref="AuditSigner"/>.
    /// </summary>
    public string? AuditInstanceId { get; set; }

    /// <summary>The clock; tests replace it. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal string ResolvedBlobDirectory => Path.GetFullPath(BlobDirectory ?? Path.Combine(DataDirectory, "blobs"));

    internal string SqlitePath => Path.GetFullPath(Path.Combine(DataDirectory, "relay.db"));

    internal string ResolvedAuditKeyPath => Path.GetFullPath(AuditKeyPath ?? Path.Combine(DataDirectory, "audit-key"));

    internal void Validate()
    {
        static void Positive(long value, string name)
        {
            if (value <= 0)
            {
                throw new InvalidOperationException($"RelayOptions.{name} must be positive.");
            }
        }

        Positive(MaxEnvelopeBytes, nameof(MaxEnvelopeBytes));
        Positive(MaxBatchEnvelopes, nameof(MaxBatchEnvelopes));
        Positive(MaxRequestBodyBytes, nameof(MaxRequestBodyBytes));
        Positive(MaxPendingPerMailbox, nameof(MaxPendingPerMailbox));
        Positive(FailedAuthenticationsPerMinute, nameof(FailedAuthenticationsPerMinute));
        Positive(MaxBlobBytes, nameof(MaxBlobBytes));
        Positive(MaxPrekeysPerUpload, nameof(MaxPrekeysPerUpload));
        Positive(MaxPrekeyBytes, nameof(MaxPrekeyBytes));
        Positive(RateLimitPerSecond, nameof(RateLimitPerSecond));
        Positive(RateLimitBurst, nameof(RateLimitBurst));
        Positive(MaxFetchEnvelopes, nameof(MaxFetchEnvelopes));
        Positive(EnvelopeTimeToLive.Ticks, nameof(EnvelopeTimeToLive));
        if (PurgeInterval != Timeout.InfiniteTimeSpan && (PurgeInterval < TimeSpan.FromSeconds(1) || PurgeInterval > TimeSpan.FromDays(1)))
        {
            throw new InvalidOperationException("RelayOptions.PurgeInterval must be 1 second to 1 day, or Timeout.InfiniteTimeSpan.");
        }
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new InvalidOperationException("RelayOptions.DataDirectory must be set.");
        }

        if (StorageProvider == RelayStorageProvider.PostgreSql && string.IsNullOrWhiteSpace(PostgresConnectionString))
        {
            throw new InvalidOperationException("RelayOptions.PostgresConnectionString must be set when StorageProvider is PostgreSql.");
        }

        if (AuditSigner is not null && !Identifier.IsValid(AuditInstanceId))
        {
            throw new InvalidOperationException("RelayOptions.AuditInstanceId must be 1 to 64 characters of A-Z a-z 0-9 - . when AuditSigner is set.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
