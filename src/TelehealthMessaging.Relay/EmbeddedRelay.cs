using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace TelehealthMessaging.Relay;

/// <summary>
/// The relay running inside the current process on Kestrel, wired exactly as the runnable host is: for samples,
/// integration tests and single-machine tools. Listens on 127.0.0.1 on a free port unless told otherwise.
/// </summary>
public sealed class EmbeddedRelay : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private EmbeddedRelay(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>The relay's base address, for example <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The relay's services (its store, options, logger factory).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a relay.</summary>
    /// <param name="configure">Sets the relay options (storage, limits).</param>
    /// <param name="url">Where to listen; a free port on 127.0.0.1 by default.</param>
    /// <param name="configureLogging">Adds log providers; none by default, so an embedded relay is silent.</param>
    /// <param name="configureServices">Adds or replaces services (for example an <see cref="IRelayAuthorizer"/>).</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>The running relay.</returns>
    public static async Task<EmbeddedRelay> StartAsync(
        Action<RelayOptions> configure,
        string url = "http://127.0.0.1:0",
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configure);
        WebApplicationBuilder builder = RelayHostBuilder.Create([]);
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        configureLogging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddTelehealthRelay(configure);
        configureServices?.Invoke(builder.Services);

        WebApplication app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.MapTelehealthRelay();
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmbeddedRelay(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Stops at once, as a crash would: open requests and WebSockets are cut.</summary>
    /// <returns>A task that completes once stopped.</returns>
    public async Task KillAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync(new CancellationToken(canceled: true));
        }
    }

    /// <summary>Stops gracefully and releases the server.</summary>
    /// <returns>A task that completes once stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }

        await _app.DisposeAsync();
    }

    /// <inheritdoc/>
    public override string ToString() => $"EmbeddedRelay {{ BaseAddress = {BaseAddress} }}";
}
