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
    }

    public Meter Meter { get; }

    public Counter<long> PurgedEnvelopes { get; }

    public Counter<long> AuditFailures { get; }
}
