namespace TelehealthMessaging.Transport;

/// <summary>Configures a transport created by <see cref="RelayTransport.Create"/>.</summary>
public sealed class RelayTransportOptions
{
    /// <summary>
    /// Where the relay is; the scheme chooses the transport. <c>memory://name</c> reaches an
    /// <see cref="InMemoryRelay"/> registered under <c>name</c>. Required.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The device the transport acts as; it reads this device's mailbox. Required.</summary>
    public DeviceId Device { get; set; }

    /// <summary>
    /// Signs a relay request: receives the canonical request bytes (docs/relay.md, Authentication) and returns the
    /// 64-byte Ed25519 signature by the device's identity key. Required for <c>http(s)://</c> endpoints; the key never
    /// leaves the caller.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, byte[]>? RequestSigner { get; set; }

    /// <summary>The clock for request timestamps and waits. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>How long an HTTP receive stream waits after an empty fetch before fetching again. Default 5 seconds; 10 ms to 1 hour.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>WebSocket only: how often a ping keeps the connection alive. Default 15 seconds; 1 second to 10 minutes.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// WebSocket only: how long a connection may go without a pong (on .NET 9 and later) or, on .NET 8, without any
    /// frame before it is treated as dead and replaced; also the connect timeout. Default 30 seconds; 1 second to 10 minutes.
    /// </summary>
    public TimeSpan DeadConnectionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket only: the first reconnect backoff ceiling; attempt n waits a random time below min(max, base·2^n). Default 1 second.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>WebSocket only: the largest reconnect backoff ceiling. Default 30 seconds; at least <see cref="ReconnectBaseDelay"/>.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket only: the source of backoff jitter; <see cref="Random.Shared"/> when null. Set a seeded one in tests.</summary>
    public Random? ReconnectRandom { get; set; }

    /// <summary>Throws when the options cannot produce a transport.</summary>
    /// <exception cref="ArgumentException">A required value is missing or invalid.</exception>
    public void Validate()
    {
        if (Endpoint is null || !Endpoint.IsAbsoluteUri)
        {
            throw new ArgumentException("Endpoint must be an absolute URI.", nameof(Endpoint));
        }

        if (Device.Value is null)
        {
            throw new ArgumentException("Device is required.", nameof(Device));
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("TimeProvider is required.", nameof(TimeProvider));
        }

        if (KeepAliveInterval < TimeSpan.FromSeconds(1) || KeepAliveInterval > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException("KeepAliveInterval must be 1 second to 10 minutes.", nameof(KeepAliveInterval));
        }

        if (DeadConnectionTimeout < TimeSpan.FromSeconds(1) || DeadConnectionTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException("DeadConnectionTimeout must be 1 second to 10 minutes.", nameof(DeadConnectionTimeout));
        }

        if (ReconnectBaseDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectBaseDelay)
        {
            throw new ArgumentException("ReconnectBaseDelay must be positive and ReconnectMaxDelay at least as large.", nameof(ReconnectMaxDelay));
        }

        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("PollInterval must be 10 ms to 1 hour.", nameof(PollInterval));
        }
    }
}

/// <summary>Creates the transport an endpoint's URI scheme calls for.</summary>
public static class RelayTransport
{
    /// <summary>The scheme of endpoints served by an <see cref="InMemoryRelay"/>: <c>memory://name</c>.</summary>
    public const string MemoryScheme = "memory";

    /// <summary>The name of the <see cref="HttpClient"/> HTTP transports take from <see cref="IHttpClientFactory"/>.</summary>
    public const string HttpClientName = "TelehealthMessaging.Relay";

    /// <summary>
    /// The name of the <see cref="HttpClient"/> attachment uploads and downloads take from <see cref="IHttpClientFactory"/>:
    /// the same pipeline as <see cref="HttpClientName"/> with timeouts sized for large blobs on slow links.
    /// </summary>
    public const string AttachmentHttpClientName = "TelehealthMessaging.Relay.Attachments";

    /// <summary>Creates a transport for <see cref="RelayTransportOptions.Endpoint"/>.</summary>
    /// <param name="options">The options; validated first.</param>
    /// <param name="httpClientFactory">Required for <c>http(s)://</c>: supplies the client named <see cref="HttpClientName"/>, configured by <see cref="Microsoft.Extensions.DependencyInjection.RelayTransportServiceCollectionExtensions.AddRelayTransportHttpClient(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>.</param>
    /// <returns>A new transport; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The options are invalid, the scheme is not supported, no in-memory relay has the endpoint's name, or an HTTP endpoint lacks a factory or signer.</exception>
    public static IRelayTransport Create(RelayTransportOptions options, IHttpClientFactory? httpClientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Uri endpoint = options.Endpoint!;
        if (string.Equals(endpoint.Scheme, MemoryScheme, StringComparison.OrdinalIgnoreCase))
        {
            InMemoryRelay relay = InMemoryRelay.Find(endpoint.Host)
                ?? throw new ArgumentException("No in-memory relay is registered under the endpoint's name.", nameof(options));
            return relay.Connect(options.Device);
        }

        if (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps)
        {
            if (httpClientFactory is null)
            {
                throw new ArgumentException("HTTP endpoints need an IHttpClientFactory.", nameof(httpClientFactory));
            }

            return new HttpRelayTransport(httpClientFactory.CreateClient(HttpClientName), options);
        }

        if (endpoint.Scheme is "ws" or "wss")
        {
            if (httpClientFactory is null)
            {
                throw new ArgumentException("WebSocket endpoints need an IHttpClientFactory for sending and the HTTP fallback.", nameof(httpClientFactory));
            }

            return new WebSocketRelayTransport(new HttpRelayTransport(httpClientFactory.CreateClient(HttpClientName), options), options);
        }

        throw new ArgumentException($"The endpoint scheme '{endpoint.Scheme}' is not supported; supported: {MemoryScheme}, http, https, ws, wss.", nameof(options));
    }
}
