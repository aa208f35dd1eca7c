using Microsoft.Extensions.DependencyInjection.Extensions;
using TelehealthMessaging.Relay;
using TelehealthMessaging.Relay.Api;
using TelehealthMessaging.Relay.Attachments;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Storage;

#pragma warning disable IDE0130 // DI extensions live in the DI namespace so that they are found without a using.
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the Telehealth relay in an ASP.NET Core application.</summary>
public static class RelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the relay's services: the store chosen by <see cref="RelayOptions.StorageProvider"/> (schema migrated at
    /// start), request authentication, expiry purge, WebSocket delivery, the instance's audit trail
    /// (<see cref="RelayAuditTrail"/>, resolvable by operators) and, on PostgreSQL, the LISTEN/NOTIFY listener. Register an <see cref="IRelayAuthorizer"/> before or after this call to add app-level checks.
    /// Safe to call once per service collection; a second call is ignored.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets options; they are validated here.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddTelehealthRelay(this IServiceCollection services, Action<RelayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(RelayOptions)))
        {
            return services;
        }

        var options = new RelayOptions();
        configure?.Invoke(options);
        options.Validate();

        services.AddSingleton(options);
        services.TryAddSingleton<IRelayAuthorizer, AllowAllRelayAuthorizer>();
        services.AddSingleton<MailboxSignal>();
        services.AddSingleton<AttachmentFiles>();
        services.AddSingleton<RelayRequestAuthenticator>();
        services.AddSingleton<RelayApi>();
        services.AddSingleton<RelayWebSocketSession>();
        if (options.StorageProvider == RelayStorageProvider.PostgreSql)
        {
            // Factory registrations, so that the container owns (and disposes) the stores it creates.
            services.AddSingleton(_ => new PostgresRelayStore(options.PostgresConnectionString!));
            services.AddSingleton<IRelayStore>(sp => sp.GetRequiredService<PostgresRelayStore>());
            services.AddSingleton<PostgresMailboxListener>();
            services.AddHostedService(sp => sp.GetRequiredService<PostgresMailboxListener>());
        }
        else
        {
            services.AddSingleton<IRelayStore>(_ => new SqliteRelayStore(options.SqlitePath));
        }

        services.AddMetrics();
        services.TryAddSingleton<RelayMetrics>();
        services.AddSingleton(sp => RelayAuditTrail.Open(options, sp.GetRequiredService<RelayMetrics>(), sp.GetRequiredService<ILogger<RelayAuditTrail>>()));
        services.AddSingleton<RelayStoreInitializer>();
        services.AddHostedService(sp => sp.GetRequiredService<RelayStoreInitializer>());
        services.AddSingleton<ExpiryPurgeService>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpiryPurgeService>());
        services.AddProblemDetails();
        services.AddOpenApi(RelayEndpointRouteBuilderExtensions.OpenApiDocumentName, o => o.ShouldInclude = d => d.GroupName == RelayEndpointRouteBuilderExtensions.OpenApiDocumentName);
        services.AddLogging();
        return services;
    }
}
