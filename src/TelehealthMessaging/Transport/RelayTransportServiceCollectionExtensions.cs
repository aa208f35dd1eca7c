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
    /// <remarks>
    /// Also registers <see cref="RelayTransport.AttachmentHttpClientName"/> for attachment blobs: the standard pipeline's
    /// 10-second attempt and 30-second total timeouts would cut off a large upload on a slow link, so that client allows
    /// <see cref="AttachmentAttemptTimeout"/> per attempt and <see cref="AttachmentTotalTimeout"/> in all.
    /// </remarks>
    public static IHttpClientBuilder AddRelayTransportHttpClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        IHttpClientBuilder attachments = services.AddHttpClient(RelayTransport.AttachmentHttpClientName);
        attachments.AddStandardResilienceHandler(options =>
        {
            options.AttemptTimeout.Timeout = AttachmentAttemptTimeout;
            options.TotalRequestTimeout.Timeout = AttachmentTotalTimeout;
            // The pipeline requires the breaker's window to span at least two attempts.
            options.CircuitBreaker.SamplingDuration = AttachmentAttemptTimeout * 2;
        });
        attachments.AddHttpMessageHandler(() => new RelaySigningHandler());

        IHttpClientBuilder builder = services.AddHttpClient(RelayTransport.HttpClientName);
        builder.AddStandardResilienceHandler();

        // Added after the resilience handler, so it runs inside the retry loop: each attempt gets a fresh nonce.
        builder.AddHttpMessageHandler(() => new RelaySigningHandler());
        return builder;
    }

    /// <summary>How long one attempt to upload or download an attachment may take: 100 MiB at about 1.4 Mbit/s.</summary>
    public static TimeSpan AttachmentAttemptTimeout { get; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an attachment upload or download may take with its retries.</summary>
    public static TimeSpan AttachmentTotalTimeout { get; } = TimeSpan.FromMinutes(30);
}
