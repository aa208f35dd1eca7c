using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TelehealthMessaging.ClinicWorker;

/// <summary>
/// Watches the clinic inbox: every intake nobody holds yet is claimed (the first claim among the clinic's devices
/// wins) and acknowledged to the patient in the intake's conversation. Intakes that arrived while the worker was
/// stopped are in the inbox at start and handled first.
/// </summary>
internal sealed partial class IntakeAcknowledger : BackgroundService
{
    private readonly TelehealthClient _client;
    private readonly IOptionsMonitor<ClinicWorkerOptions> _options;
    private readonly ILogger<IntakeAcknowledger> _logger;
    private readonly Channel<IntakeInboxItem> _arrivals = Channel.CreateUnbounded<IntakeInboxItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<IntakeSubmissionId> _handled = [];

    public IntakeAcknowledger(TelehealthClient client, IOptionsMonitor<ClinicWorkerOptions> options, ILogger<IntakeAcknowledger> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;

        // Subscribed before the client starts, so no intake that arrives during start-up is missed.
        _client.IntakeReceived += (_, e) => _arrivals.Writer.TryWrite(e.Item);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _client.StartAsync(stoppingToken);
        Log.Started(_logger, _client.User.Value, _client.Clinic?.Value ?? "(none)", _client.Device.Value);

        foreach (IntakeInboxItem waiting in (await _client.Intake.GetInboxAsync(stoppingToken)).Where(i => i.Claim is null).Reverse())
        {
            await HandleAsync(waiting, stoppingToken);
        }

        await foreach (IntakeInboxItem arrived in _arrivals.Reader.ReadAllAsync(stoppingToken))
        {
            await HandleAsync(arrived, stoppingToken);
        }
    }

    private async Task HandleAsync(IntakeInboxItem item, CancellationToken cancellationToken)
    {
        if (!_handled.Add(item.SubmissionId))
        {
            return;
        }

        try
        {
            ClaimResult claim = await _client.Intake.ClaimAsync(item.SubmissionId, cancellationToken);
            if (!claim.IsOwn)
            {
                Log.HeldByOther(_logger, item.SubmissionId.Value, claim.ClaimedBy.Value);
                return;
            }

            ClinicWorkerOptions options = _options.CurrentValue;
            string text = item.RedFlagRuleIds.Count > 0 ? options.RedFlagAcknowledgement : options.Acknowledgement;
            ConversationMessage sent = await _client.Messages.SendTextAsync(item.ConversationId, text, cancellationToken);
            Log.Acknowledged(_logger, item.SubmissionId.Value, item.ConversationId.Value, item.RedFlagRuleIds.Count, sent.Id.Value);
        }
        catch (TelehealthException ex)
        {
            // Left in the inbox unclaimed: the next start (or another clinic device) picks it up.
            _handled.Remove(item.SubmissionId);
            Log.Failed(_logger, item.SubmissionId.Value, ex.ErrorCode, ex.IsTransient);
        }
    }

    // Ids, counts and codes only: never answers, names or message text.
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Watching the inbox of clinic {Clinic} as {User} on device {Device}")]
        public static partial void Started(ILogger logger, string user, string clinic, string device);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Intake {SubmissionId} claimed and acknowledged in conversation {ConversationId} ({RedFlags} red flags, message {MessageId})")]
        public static partial void Acknowledged(ILogger logger, string submissionId, string conversationId, int redFlags, string messageId);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Intake {SubmissionId} is already held by {ClaimedBy}")]
        public static partial void HeldByOther(ILogger logger, string submissionId, string claimedBy);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Intake {SubmissionId} could not be acknowledged: {ErrorCode} (transient: {IsTransient})")]
        public static partial void Failed(ILogger logger, string submissionId, TelehealthErrorCode errorCode, bool isTransient);
    }
}
