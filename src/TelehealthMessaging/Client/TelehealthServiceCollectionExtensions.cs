using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TelehealthMessaging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="TelehealthClient"/> in a host's service collection.</summary>
public static class TelehealthServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="TelehealthClient"/> configured by <paramref name="configure"/>, the relay HTTP
    /// client with the standard resilience pipeline, and validation of the options at host start (the message names
    /// the wrong setting). Safe to call twice: the later configuration is applied on top.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder to choose the relay and the store.</returns>
    public static TelehealthMessagingBuilder AddTelehealthMessaging(this IServiceCollection services, Action<TelehealthClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        TelehealthMessagingBuilder builder = AddCore(services, null);
        services.Configure(Options.Options.DefaultName, configure);
        return builder;
    }

    /// <summary>
    /// Registers a singleton <see cref="TelehealthClient"/> configured from a configuration section with the keys
    /// <c>RelayEndpoint</c>, <c>User</c>, <c>Role</c>, <c>Clinic</c>, <c>Device</c>, <c>OutboxBaseRetryDelay</c> and
    /// <c>OutboxMaxRetryDelay</c> (for example the <c>"Telehealth"</c> section of appsettings.json). The store is chosen
    /// with <see cref="TelehealthMessagingBuilder.UseStore(Func{IServiceProvider, TelehealthMessaging.Storage.IDeviceStore})"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section.</param>
    /// <returns>A builder to choose the relay and the store.</returns>
    public static TelehealthMessagingBuilder AddTelehealthMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        TelehealthMessagingBuilder builder = AddCore(services, null);
        services.Configure<TelehealthClientOptions>(Options.Options.DefaultName, options => Bind(configuration, options));
        return builder;
    }

    /// <summary>
    /// Registers a keyed <see cref="TelehealthClient"/> for apps that hold several identities (resolve it with
    /// <c>[FromKeyedServices(name)]</c> or <c>GetRequiredKeyedService&lt;TelehealthClient&gt;(name)</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The key, also the options name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder to choose the relay and the store of this identity.</returns>
    public static TelehealthMessagingBuilder AddTelehealthMessaging(this IServiceCollection services, string name, Action<TelehealthClientOptions> configure)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        TelehealthMessagingBuilder builder = AddCore(services, name);
        services.Configure(name, configure);
        return builder;
    }

    private static TelehealthMessagingBuilder AddCore(IServiceCollection services, string? name)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(RelayHttpClientMarker)))
        {
            services.AddSingleton<RelayHttpClientMarker>();
            services.AddRelayTransportHttpClient();
        }

        string optionsName = name ?? Options.Options.DefaultName;
        services.AddOptions<TelehealthClientOptions>(optionsName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelehealthClientOptions>, TelehealthClientOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TelehealthClientOptions>, DefaultLoggerFactory>());
        if (name is null)
        {
            services.TryAddSingleton(sp => Create(sp, optionsName));
        }
        else
        {
            services.TryAddKeyedSingleton(name, (sp, _) => Create(sp, optionsName));
        }

        return new TelehealthMessagingBuilder(services, optionsName);
    }

    private static TelehealthClient Create(IServiceProvider services, string optionsName) =>
        new(services.GetRequiredService<IOptionsMonitor<TelehealthClientOptions>>().Get(optionsName), services.GetService<IHttpClientFactory>());

    private static void Bind(IConfiguration section, TelehealthClientOptions options)
    {
        if (section["RelayEndpoint"] is string endpoint)
        {
            options.RelayEndpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) ? uri : throw Invalid("RelayEndpoint", "an absolute URI");
        }

        if (section["User"] is string user)
        {
            options.User = Identifier.IsValid(user) ? new UserId(user) : throw Invalid("User", "1 to 64 characters of A-Z a-z 0-9 - .");
        }

        if (section["Role"] is string role)
        {
            options.Role = Enum.TryParse(role, ignoreCase: true, out ParticipantRole parsed) && Enum.IsDefined(parsed) ? parsed : throw Invalid("Role", "Patient or Clinician");
        }

        if (section["Clinic"] is string clinic)
        {
            options.Clinic = Identifier.IsValid(clinic) ? new ClinicId(clinic) : throw Invalid("Clinic", "1 to 64 characters of A-Z a-z 0-9 - .");
        }

        if (section["Device"] is string device)
        {
            options.Device = Identifier.IsValid(device) ? new DeviceId(device) : throw Invalid("Device", "1 to 64 characters of A-Z a-z 0-9 - .");
        }

        if (section["OutboxBaseRetryDelay"] is string baseDelay)
        {
            options.OutboxBaseRetryDelay = TimeSpan.TryParse(baseDelay, CultureInfo.InvariantCulture, out TimeSpan parsed) ? parsed : throw Invalid("OutboxBaseRetryDelay", "a time span such as 00:00:01");
        }

        if (section["OutboxMaxRetryDelay"] is string maxDelay)
        {
            options.OutboxMaxRetryDelay = TimeSpan.TryParse(maxDelay, CultureInfo.InvariantCulture, out TimeSpan parsed) ? parsed : throw Invalid("OutboxMaxRetryDelay", "a time span such as 00:02:00");
        }

        OptionsValidationException Invalid(string key, string expected) =>
            new(Options.Options.DefaultName, typeof(TelehealthClientOptions), [$"Configuration key '{GetPath(section)}:{key}' must be {expected}."]);
    }

    private static string GetPath(IConfiguration section) => section is IConfigurationSection s ? s.Path : "(root)";

    private sealed class RelayHttpClientMarker;

    private sealed class TelehealthClientOptionsValidator : IValidateOptions<TelehealthClientOptions>
    {
        public ValidateOptionsResult Validate(string? name, TelehealthClientOptions options)
        {
            List<string> problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }

    /// <summary>Uses the host's logger factory unless the app set one.</summary>
    private sealed class DefaultLoggerFactory(IServiceProvider services) : IConfigureNamedOptions<TelehealthClientOptions>
    {
        public void Configure(TelehealthClientOptions options) => Configure(Options.Options.DefaultName, options);

        public void Configure(string? name, TelehealthClientOptions options)
        {
            options.LoggerFactory ??= services.GetService<ILoggerFactory>();
            if (options.TimeProvider == TimeProvider.System && services.GetService<TimeProvider>() is TimeProvider time)
            {
                options.TimeProvider = time;
            }
        }
    }
}
