using Microsoft.Extensions.Logging;

namespace TelehealthMessaging.Quickstart;

/// <summary>
/// A log provider for the embedded relay that counts what it stored: devices registered and sealed envelopes with
/// their sizes. It reads the relay's structured log events by id and keeps numbers only, never a message text.
/// </summary>
internal sealed class RelayStorageTally : ILoggerProvider, ILogger
{
    // The relay's event ids (TelehealthMessaging.Relay RelayLog): 4301 device registered, 4302 envelopes stored.
    private const int DeviceRegisteredEvent = 4301;
    private const int EnvelopesStoredEvent = 4302;

    private readonly object _gate = new();
    private Totals _totals;
    private Totals _reported;

    public Totals Current
    {
        get
        {
            lock (_gate)
            {
                return _totals;
            }
        }
    }

    /// <summary>What was stored since the previous call: the right-hand column of the transcript.</summary>
    public Totals TakeSinceLast()
    {
        lock (_gate)
        {
            Totals delta = _totals - _reported;
            _reported = _totals;
            return delta;
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public bool IsEnabled(LogLevel logLevel) => true;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id is not (DeviceRegisteredEvent or EnvelopesStoredEvent) || state is not IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            return;
        }

        lock (_gate)
        {
            _totals = eventId.Id == DeviceRegisteredEvent
                ? _totals with { Devices = _totals.Devices + 1 }
                : _totals with { Envelopes = _totals.Envelopes + Field(fields, "Stored"), Bytes = _totals.Bytes + Field(fields, "Bytes") };
        }
    }

    public void Dispose()
    {
    }

    private static long Field(IReadOnlyList<KeyValuePair<string, object?>> fields, string name) =>
        Convert.ToInt64(fields.FirstOrDefault(f => f.Key == name).Value ?? 0L, System.Globalization.CultureInfo.InvariantCulture);

    internal readonly record struct Totals(long Devices, long Envelopes, long Bytes)
    {
        public static Totals operator -(Totals a, Totals b) => new(a.Devices - b.Devices, a.Envelopes - b.Envelopes, a.Bytes - b.Bytes);

        public override string ToString()
        {
            var parts = new List<string>();
            if (Devices > 0)
            {
                parts.Add(Devices == 1 ? "1 device" : $"{Devices} devices");
            }

            if (Envelopes > 0)
            {
                parts.Add($"{Envelopes} sealed envelope{(Envelopes == 1 ? "" : "s")}, {Bytes:N0} bytes");
            }

            return string.Join("; ", parts);
        }
    }
}
