using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>
/// Sums one counter of one relay's meter (other relays running in parallel tests have meters of their own), optionally
/// only its measurements carrying a given tag.
/// </summary>
internal sealed class CounterReadings : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterReadings(RelayServer server, string instrumentName, KeyValuePair<string, object?>? tag = null)
    {
        Meter meter = server.Services.GetRequiredService<RelayMetrics>().Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tag is not { } wanted || tags.ToArray().Contains(wanted))
            {
                Interlocked.Add(ref _total, value);
            }
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
