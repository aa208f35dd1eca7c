using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>The real relay on Kestrel at 127.0.0.1 on a random port (<see cref="EmbeddedRelay"/>), with every log line kept.</summary>
internal sealed class RelayServer : IAsyncDisposable
{
    private readonly EmbeddedRelay _relay;

    private RelayServer(EmbeddedRelay relay, CapturedLogs logs)
    {
        _relay = relay;
        Logs = logs;
    }

    public Uri BaseAddress => _relay.BaseAddress;

    public IServiceProvider Services => _relay.Services;

    public CapturedLogs Logs { get; }

    public static async Task<RelayServer> StartAsync(Action<RelayOptions> configure, Action<IServiceCollection>? services = null)
    {
        var logs = new CapturedLogs();
        EmbeddedRelay relay = await EmbeddedRelay.StartAsync(
            configure,
            configureLogging: logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(logs),
            configureServices: services);
        return new RelayServer(relay, logs);
    }

    /// <summary>Stops at once, as a crash would: no grace period for open requests or WebSockets.</summary>
    public Task KillAsync() => _relay.KillAsync();

    public ValueTask DisposeAsync() => _relay.DisposeAsync();
}

/// <summary>Keeps every formatted log line, so that tests can prove what never reaches a log.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string line = $"{category} {logLevel}: {formatter(state, exception)} {exception}";
            owner._lines.Enqueue(line);
            if (Environment.GetEnvironmentVariable("RELAY_TEST_LOG_ERRORS") == "1" && logLevel >= LogLevel.Error)
            {
                File.AppendAllText(Path.Combine(Path.GetTempPath(), "relay-test-errors.log"), line + Environment.NewLine);
            }
        }
    }
}
