using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>The real relay on Kestrel at 127.0.0.1 on a random port, wired the way Program.cs wires it.</summary>
internal sealed class RelayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private RelayServer(WebApplication app, Uri baseAddress, CapturedLogs logs)
    {
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public CapturedLogs Logs { get; }

    public static async Task<RelayServer> StartAsync(Action<RelayOptions> configure, Action<IServiceCollection>? services = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new CapturedLogs();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddTelehealthRelay(configure);
        services?.Invoke(builder.Services);

        WebApplication app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.MapTelehealthRelay();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new RelayServer(app, new Uri(address), logs);
    }

    /// <summary>Stops at once, as a crash would: no grace period for open requests or WebSockets.</summary>
    public async Task KillAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync(new CancellationToken(canceled: true));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }

        await _app.DisposeAsync();
    }
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
