using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace TelehealthMessaging;

/// <summary>The client's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>TelehealthMessaging</c>.</summary>
/// <remarks>Tags carry ids, counts, sizes and error codes only: never content, names or keys.</remarks>
internal static class ClientTelemetry
{
    public const string Name = "TelehealthMessaging";

    public static readonly ActivitySource ActivitySource = new(Name, "1.0.0");

    public static readonly Meter Meter = new(Name, "1.0.0");

    public static readonly Counter<long> ItemsSent = Meter.CreateCounter<long>("telehealth.outbox.sent", "{item}", "Outbox items the relay accepted.");

    public static readonly Counter<long> ItemsRetried = Meter.CreateCounter<long>("telehealth.outbox.retried", "{item}", "Outbox send attempts that failed transiently.");

    public static readonly Counter<long> ItemsFailed = Meter.CreateCounter<long>("telehealth.outbox.failed", "{item}", "Outbox items that failed permanently.");

    public static readonly Counter<long> EnvelopesReceived = Meter.CreateCounter<long>("telehealth.envelopes.received", "{envelope}", "Envelopes opened and processed.");

    public static readonly Counter<long> EnvelopesRejected = Meter.CreateCounter<long>("telehealth.envelopes.rejected", "{envelope}", "Envelopes dropped because they failed a check.");

    public static readonly Histogram<long> EnvelopeSize = Meter.CreateHistogram<long>("telehealth.envelope.size", "By", "Size of sealed envelopes sent.");
}

/// <summary>Log messages of the client. Ids, counts, states and error codes only.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Device {DeviceId} opened for role {Role}.")]
    public static partial void DeviceOpened(ILogger logger, string deviceId, ParticipantRole role);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Device registered and keys published ({OneTimePrekeys} one-time prekeys).")]
    public static partial void KeysPublished(ILogger logger, int oneTimePrekeys);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Device joined clinic {ClinicId} as a triage device.")]
    public static partial void JoinedClinic(ILogger logger, string clinicId);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Connected to the relay; receiving and sending.")]
    public static partial void Connected(ILogger logger);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Relay set-up failed with {ErrorCode}; retrying in {Delay}.")]
    public static partial void SetupRetry(ILogger logger, TelehealthErrorCode errorCode, TimeSpan delay);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Outbox item {Sequence} of {ConversationId} sent as {Envelopes} envelopes.")]
    public static partial void ItemSent(ILogger logger, long sequence, string conversationId, int envelopes);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Outbox item {Sequence} of {ConversationId} failed with {ErrorCode} (attempt {Attempt}); retrying in {Delay}.")]
    public static partial void ItemRetry(ILogger logger, long sequence, string conversationId, TelehealthErrorCode errorCode, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Error, Message = "Outbox item {Sequence} of {ConversationId} failed permanently with {ErrorCode}.")]
    public static partial void ItemFailed(ILogger logger, long sequence, string conversationId, TelehealthErrorCode errorCode);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Envelope {EnvelopeId} dropped: {ErrorCode}.")]
    public static partial void EnvelopeRejected(ILogger logger, string envelopeId, TelehealthErrorCode errorCode);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Message {MessageId} dropped: {Reason}.")]
    public static partial void MessageRejected(ILogger logger, string messageId, string reason);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "Receiving failed with {ErrorCode}; resuming in {Delay}.")]
    public static partial void ReceiveRetry(ILogger logger, TelehealthErrorCode errorCode, TimeSpan delay);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Warning, Message = "{Count} resident registration numbers found in outgoing content; policy {Mode} applied.")]
    public static partial void SensitiveIdentifiersFound(ILogger logger, int count, TelehealthMessaging.Compliance.SensitiveIdentifierMode mode);

    [LoggerMessage(EventId = 1032, Level = LogLevel.Warning, Message = "Applying the retention policy at start-up failed with {ErrorCode}.")]
    public static partial void RetentionFailed(ILogger logger, TelehealthErrorCode errorCode);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Information, Message = "Conversation {ConversationId} erased.")]
    public static partial void ConversationErased(ILogger logger, string conversationId);
}
