using TelehealthMessaging.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the HTTP client relay transports use.</summary>
public static class RelayTransportServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="HttpClient"/> named <see cref="RelayTransport.HttpClientName"/> with request signing and
    /// Microsoft.Extensions.Http.Resilience's standard pipeline: retry with exponential backoff and jitter that honours
    /// <c>Retry-After</c> (the relay sends it with 429), circuit breaker, attempt and total timeouts. Every relay call the
    /// transport makes is idempotent (submission by envelope id, acknowledgement, fetch), so POSTs are retried too.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The client builder, to adjust the pipeline (<c>.AddStandardResilienceHandler</c> options) or the primary handler.</returns>
    public static IHttpClientBuilder AddRelayTransportHttpClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        IHttpClientBuilder builder = services.AddHttpClient(RelayTransport.HttpClientName);
        builder.AddStandardResilienceHandler();

        // Added after the resilience handler, so it runs inside the retry loop: each attempt gets a fresh nonce.
        builder.AddHttpMessageHandler(() => new RelaySigningHandler());
        return builder;
    }
}
