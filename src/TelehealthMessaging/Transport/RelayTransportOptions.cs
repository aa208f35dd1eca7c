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
    }
}

/// <summary>Creates the transport an endpoint's URI scheme calls for.</summary>
public static class RelayTransport
{
    /// <summary>The scheme of endpoints served by an <see cref="InMemoryRelay"/>: <c>memory://name</c>.</summary>
    public const string MemoryScheme = "memory";

    /// <summary>Creates a transport for <see cref="RelayTransportOptions.Endpoint"/>.</summary>
    /// <param name="options">The options; validated first.</param>
    /// <returns>A new transport; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The options are invalid, the scheme is not supported, or no in-memory relay has the endpoint's name.</exception>
    public static IRelayTransport Create(RelayTransportOptions options)
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

        throw new ArgumentException($"The endpoint scheme '{endpoint.Scheme}' is not supported; supported: {MemoryScheme}.", nameof(options));
    }
}
