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
        services.AddRelayTransportHttpClient();
        _services = services.BuildServiceProvider();
    }

    private protected SqliteStoreTarget Stores { get; }

    private protected TestDevice Alice { get; } = new();

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
