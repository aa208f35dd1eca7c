namespace TelehealthMessaging.Transport;

/// <summary>Creates the relay directory an endpoint's URI scheme calls for, as <see cref="RelayTransport.Create"/> does for transports.</summary>
internal static class RelayDirectory
{
    /// <summary>Creates a directory acting as <see cref="RelayTransportOptions.Device"/> of <paramref name="user"/>.</summary>
    /// <param name="options">The options; validated first. <c>memory://name</c> reaches the registered <see cref="InMemoryRelay"/>.</param>
    /// <param name="user">The user the device belongs to.</param>
    /// <param name="httpClientFactory">
    /// For <c>http(s)://</c> and <c>ws(s)://</c>: supplies the client named <see cref="RelayTransport.HttpClientName"/> with
    /// its resilience pipeline; without it the directory uses an own client that signs requests but does not retry.
    /// </param>
    /// <returns>A new directory; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The options or user are invalid, the scheme is not supported, no in-memory relay has the endpoint's name, or an HTTP endpoint lacks a request signer.</exception>
    public static IRelayDirectory Create(RelayTransportOptions options, UserId user, IHttpClientFactory? httpClientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        DirectoryArguments.Check(user);
        Uri endpoint = options.Endpoint!;
        if (string.Equals(endpoint.Scheme, RelayTransport.MemoryScheme, StringComparison.OrdinalIgnoreCase))
        {
            InMemoryRelay relay = InMemoryRelay.Find(endpoint.Host)
                ?? throw new ArgumentException("No in-memory relay is registered under the endpoint's name.", nameof(options));
            return relay.ConnectDirectory(user, options.Device);
        }

        if (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps || endpoint.Scheme is "ws" or "wss")
        {
            // A WebSocket endpoint's directory is its HTTP API on the same host.
            return new HttpRelayDirectory(httpClientFactory?.CreateClient(RelayTransport.HttpClientName), options, user, httpClientFactory?.CreateClient(RelayTransport.AttachmentHttpClientName));
        }

        throw new ArgumentException($"The endpoint scheme '{endpoint.Scheme}' is not supported; supported: {RelayTransport.MemoryScheme}, http, https, ws, wss.", nameof(options));
    }
}
