using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>Keeps every formatted log line (and exception text) so tests can show what never reaches a log.</summary>
public sealed class CapturedLogs : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

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
            string line = $"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {exception}";
            owner._lines.Enqueue(line);
            if (Environment.GetEnvironmentVariable("TELEHEALTH_TEST_LOG") == "1")
            {
                Console.Error.WriteLine(line);
            }
        }
    }
}
