using System.Diagnostics.Metrics;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>The relay's instruments, on the meter <see cref="MeterName"/> created through the host's <see cref="IMeterFactory"/>.</summary>
internal sealed class RelayMetrics
{
    public const string MeterName = "TelehealthMessaging.Relay";

    public RelayMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        PurgedEnvelopes = Meter.CreateCounter<long>("telehealth.relay.purged_envelopes", "{envelope}", "Expired envelopes deleted by the relay's purge.");
        AuditFailures = Meter.CreateCounter<long>("telehealth.relay.audit_failures", "{record}", "Audit records the relay could not append.");
        PushedEnvelopes = Meter.CreateCounter<long>(
            "telehealth.relay.pushed_envelopes",
            "{envelope}",
            "Envelopes pushed to devices over WebSocket, by where the session took them: handed over by the submission on this instance (source=handover) or read from the mailbox (source=mailbox).");
    }

    /// <summary>The <c>source</c> tag of <see cref="PushedEnvelopes"/> for envelopes handed over by a submission.</summary>
    public static KeyValuePair<string, object?> FromHandover { get; } = new("source", "handover");

    /// <summary>The <c>source</c> tag of <see cref="PushedEnvelopes"/> for envelopes read from the mailbox.</summary>
    public static KeyValuePair<string, object?> FromMailbox { get; } = new("source", "mailbox");

    public Meter Meter { get; }

    public Counter<long> PurgedEnvelopes { get; }

    public Counter<long> AuditFailures { get; }

    /// <summary>
    /// Envelopes pushed over WebSocket by source. Mailbox reads are expected on connect and for envelopes stored by
    /// another instance; many of them on a single instance mean the hand-over is being missed.
    /// </summary>
    public Counter<long> PushedEnvelopes { get; }
}
