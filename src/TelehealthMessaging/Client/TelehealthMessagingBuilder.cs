using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TelehealthMessaging;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the relay and the store of a <see cref="TelehealthClient"/> registered with <c>AddTelehealthMessaging</c>.</summary>
public sealed class TelehealthMessagingBuilder
{
    internal TelehealthMessagingBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The options name (the key for keyed registrations; empty for the default client).</summary>
    public string Name { get; }

    /// <summary>Uses a relay at <paramref name="endpoint"/> (<c>http(s)://</c> or <c>ws(s)://</c>).</summary>
    /// <param name="endpoint">The relay's base address.</param>
    /// <returns>This builder.</returns>
    public TelehealthMessagingBuilder UseRelay(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Services.Configure<TelehealthClientOptions>(Name, o => o.RelayEndpoint = endpoint);
        return this;
    }

    /// <summary>
    /// Uses an in-process <see cref="InMemoryRelay"/> registered under <paramref name="relayName"/> (created once and
    /// registered as a singleton): for tests, demos and single-process tools.
    /// </summary>
    /// <param name="relayName">The relay's name in <c>memory://name</c>.</param>
    /// <returns>This builder.</returns>
    public TelehealthMessagingBuilder UseInMemoryRelay(string relayName = "telehealth")
    {
        ArgumentException.ThrowIfNullOrEmpty(relayName);
        Services.TryAddSingleton(sp =>
        {
            var relay = new InMemoryRelay(sp.GetService<TimeProvider>());
            InMemoryRelay.Register(relayName, relay);
            return relay;
        });
        Services.AddSingleton<IConfigureOptions<TelehealthClientOptions>>(sp => new ConfigureNamedOptions<TelehealthClientOptions>(Name, o =>
        {
            // Resolving the relay registers it under its name before the client looks it up.
            sp.GetRequiredService<InMemoryRelay>();
            o.RelayEndpoint = new Uri("memory://" + relayName);
        }));
        return this;
    }

    /// <summary>Uses the store <paramref name="factory"/> creates (once, when the client is created).</summary>
    /// <param name="factory">Creates the store, for example by opening an <see cref="EncryptedFileStore"/>.</param>
    /// <returns>This builder.</returns>
    public TelehealthMessagingBuilder UseStore(Func<IServiceProvider, IDeviceStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton<IConfigureOptions<TelehealthClientOptions>>(sp => new ConfigureNamedOptions<TelehealthClientOptions>(Name, o => o.Store = factory(sp)));
        return this;
    }

    /// <summary>Uses <paramref name="store"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public TelehealthMessagingBuilder UseStore(IDeviceStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return UseStore(_ => store);
    }
}
