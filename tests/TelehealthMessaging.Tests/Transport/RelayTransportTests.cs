using NSubstitute;
using TelehealthMessaging.Transport;
using static TelehealthMessaging.Tests.Transport.TransportTestKit;

namespace TelehealthMessaging.Tests.Transport;

public sealed class RelayTransportTests
{
    [Fact]
    public async Task A_memory_endpoint_reaches_the_relay_registered_under_its_name()
    {
        string name = "relay-" + Guid.NewGuid().ToString("N");
        var relay = new InMemoryRelay();
        var device = DeviceId.New();
        relay.AddDevice(device);
        InMemoryRelay.Register(name, relay);
        try
        {
            await using IRelayTransport transport = RelayTransport.Create(new RelayTransportOptions { Endpoint = new Uri($"memory://{name}"), Device = device });
            await transport.SendAsync([Envelope(device)]);

            Assert.Equal(1, relay.PendingCount(device));
        }
        finally
        {
            Assert.True(InMemoryRelay.Unregister(name));
        }
    }

    [Fact]
    public void A_name_cannot_be_registered_twice()
    {
        string name = "relay-" + Guid.NewGuid().ToString("N");
        InMemoryRelay.Register(name, new InMemoryRelay());
        try
        {
            Assert.Throws<ArgumentException>(() => InMemoryRelay.Register(name, new InMemoryRelay()));
        }
        finally
        {
            InMemoryRelay.Unregister(name);
        }
    }

    [Theory]
    [InlineData("memory://nobody-registered-this")]
    [InlineData("ftp://relay.example")]
    public void Endpoints_without_a_transport_are_refused(string endpoint)
    {
        var options = new RelayTransportOptions { Endpoint = new Uri(endpoint), Device = DeviceId.New() };

        Assert.Throws<ArgumentException>(() => RelayTransport.Create(options));
    }

    [Fact]
    public void An_http_endpoint_needs_a_client_factory_and_a_signer()
    {
        var options = new RelayTransportOptions { Endpoint = new Uri("http://127.0.0.1:5080"), Device = DeviceId.New() };
        var factory = Substitute.For<IHttpClientFactory>();
        factory.CreateClient(RelayTransport.HttpClientName).Returns(_ => new HttpClient());

        Assert.Throws<ArgumentException>(() => RelayTransport.Create(options));
        Assert.Throws<ArgumentException>(() => RelayTransport.Create(options, factory));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3_600_001)]
    public void Poll_intervals_out_of_range_are_refused(int milliseconds)
    {
        var options = new RelayTransportOptions { Endpoint = new Uri("memory://x"), Device = DeviceId.New(), PollInterval = TimeSpan.FromMilliseconds(milliseconds) };

        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void Options_without_endpoint_or_device_are_refused()
    {
        Assert.Throws<ArgumentException>(() => RelayTransport.Create(new RelayTransportOptions { Device = DeviceId.New() }));
        Assert.Throws<ArgumentException>(() => RelayTransport.Create(new RelayTransportOptions { Endpoint = new Uri("memory://x") }));
        Assert.Throws<ArgumentException>(() => RelayTransport.Create(new RelayTransportOptions { Endpoint = new Uri("/relative", UriKind.Relative), Device = DeviceId.New() }));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("17", 17L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Cursors_parse_the_relays_decimal_text(string text, long value)
    {
        Assert.True(RelayCursor.TryParse(text, out RelayCursor cursor));
        Assert.Equal(value, cursor.Value);
        Assert.Equal(text, cursor.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1.0")]
    [InlineData("9223372036854775808")]
    public void Malformed_cursor_text_is_refused(string? text)
    {
        Assert.False(RelayCursor.TryParse(text, out _));
    }
}
