namespace TelehealthMessaging.Relay.Api;

/// <summary>Relay log lines: ids, sizes, counts, codes and timings only (envelopes are ciphertext, but not even that is logged).</summary>
internal static partial class RelayLog
{
    [LoggerMessage(EventId = 4300, Level = LogLevel.Information, Message = "Relay refused {Method} {Route} from device {DeviceId}: {Status} {Code}")]
    public static partial void Refused(ILogger logger, string method, string route, string deviceId, int status, string code);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Information, Message = "Device {DeviceId} registered ({Outcome})")]
    public static partial void DeviceRegistered(ILogger logger, string deviceId, string outcome);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Debug, Message = "Device {DeviceId} stored {Stored} envelopes ({Duplicates} duplicates, {Bytes} bytes) in {ElapsedMs} ms")]
    public static partial void EnvelopesStored(ILogger logger, string deviceId, int stored, int duplicates, long bytes, double elapsedMs);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Debug, Message = "Device {DeviceId} acknowledged {Deleted} of {Requested} envelopes")]
    public static partial void EnvelopesAcknowledged(ILogger logger, string deviceId, int deleted, int requested);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Debug, Message = "Device {DeviceId} claimed a bundle of {TargetDeviceId} (one-time prekey: {HadOneTime}, last-resort KEM: {LastResort})")]
    public static partial void BundleClaimed(ILogger logger, string deviceId, string targetDeviceId, bool hadOneTime, bool lastResort);

    [LoggerMessage(EventId = 4305, Level = LogLevel.Debug, Message = "Attachment {BlobId} stored ({Bytes} bytes) in {ElapsedMs} ms")]
    public static partial void AttachmentStored(ILogger logger, string blobId, long bytes, double elapsedMs);

    [LoggerMessage(EventId = 4306, Level = LogLevel.Information, Message = "WebSocket for device {DeviceId} opened after cursor {Cursor}")]
    public static partial void WebSocketOpened(ILogger logger, string deviceId, long cursor);

    [LoggerMessage(EventId = 4307, Level = LogLevel.Information, Message = "WebSocket for device {DeviceId} closed after {Pushed} pushed envelopes and {Acknowledged} acknowledgements ({Reason})")]
    public static partial void WebSocketClosed(ILogger logger, string deviceId, int pushed, int acknowledged, string reason);

    [LoggerMessage(EventId = 4308, Level = LogLevel.Information, Message = "Device {DeviceId} revoked device {RevokedDeviceId}")]
    public static partial void DeviceRevoked(ILogger logger, string deviceId, string revokedDeviceId);

    // The exception's type only: a message may quote the host's or the store's data.
    [LoggerMessage(EventId = 4309, Level = LogLevel.Error, Message = "A WebSocket frame from device {DeviceId} failed with {ExceptionType}; the socket was dropped")]
    public static partial void FrameFailed(ILogger logger, string deviceId, string exceptionType);

    // The exception's type only, as above: a database error may quote the row it refused.
    [LoggerMessage(EventId = 4310, Level = LogLevel.Warning, Message = "{Method} {Route} answered 503: the store failed with {ExceptionType}, a transient error")]
    public static partial void StoreUnavailable(ILogger logger, string method, string route, string exceptionType);
}
