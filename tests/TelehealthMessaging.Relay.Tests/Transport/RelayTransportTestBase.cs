using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// What every transport test against the real relay needs: two devices, the transport's named HTTP client, a relay
/// started on a fresh SQLite store with both devices registered, and transport options pointing at it.
/// </summary>
public abstract class RelayTransportTestBase : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private protected RelayTransportTestBase(SqliteStoreTarget stores)
    {
        Stores = stores;
        var services = new ServiceCollection();
        // Innermost, after the signing handler: every attempt the resilience pipeline makes is recorded as sent.
        services.AddRelayTransportHttpClient().AddHttpMessageHandler(() => new RecordingHandler(Requests));
        _services = services.BuildServiceProvider();
    }

    private protected SqliteStoreTarget Stores { get; }

    private protected TestDevice Alice { get; } = new();

    /// <summary>Every HTTP request the transports created by <see cref="Create"/> have sent.</summary>
    private protected RecordedRequests Requests { get; } = new();

    private protected TestDevice Bob { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        Alice.Dispose();
        Bob.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected async Task<RelayServer> StartAsync(Action<RelayOptions> store, bool register = true, Action<IServiceCollection>? services = null)
    {
        RelayServer server = await RelayServer.StartAsync(store, services);
        if (register)
        {
            using var client = new RelayTestClient(server.BaseAddress, TimeProvider.System);
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(Alice)).Status);
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(Bob)).Status);
        }

        return server;
    }

    private protected static RelayTransportOptions OptionsFor(RelayServer server, TestDevice device, string scheme = "http") =>
        new()
        {
            Endpoint = new UriBuilder(server.BaseAddress) { Scheme = scheme }.Uri,
            Device = device.DeviceId,
            RequestSigner = data => device.IdentityKey.Sign(data.Span),
        };

    private protected IRelayTransport Create(RelayTransportOptions options) =>
        RelayTransport.Create(options, _services.GetRequiredService<IHttpClientFactory>());
}

/// <summary>The HTTP requests transports sent, by device, method and path.</summary>
internal sealed class RecordedRequests
{
    private readonly List<(string? Device, string Method, string Path)> _requests = [];

    /// <summary>How many POST /v1/messages (submissions) <paramref name="device"/> has sent over HTTP.</summary>
    public int Submissions(TestDevice device)
    {
        lock (_requests)
        {
            return _requests.Count(r => r.Device == device.DeviceId.Value && r.Method == "POST" && r.Path == "/v1/messages");
        }
    }

    public void Add(HttpRequestMessage request)
    {
        string? device = request.Headers.TryGetValues(RelayRequestSignature.DeviceHeader, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
        lock (_requests)
        {
            _requests.Add((device, request.Method.Method, request.RequestUri!.AbsolutePath));
        }
    }
}

internal sealed class RecordingHandler(RecordedRequests requests) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        requests.Add(request);
        return base.SendAsync(request, cancellationToken);
    }
}
