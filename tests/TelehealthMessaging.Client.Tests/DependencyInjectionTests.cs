using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TelehealthMessaging.Client.Tests.Infrastructure;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Client.Tests;

/// <summary>AddTelehealthMessaging: options, configuration binding, validation messages, repeat calls and keyed clients.</summary>
public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task A_configuration_section_binds_every_key_and_the_client_talks_through_the_in_memory_relay()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telehealth:User"] = "patient-di",
            ["Telehealth:Role"] = "patient",
            ["Telehealth:Device"] = "phone-di",
            ["Telehealth:OutboxBaseRetryDelay"] = "00:00:00.050",
            ["Telehealth:OutboxMaxRetryDelay"] = "00:00:01",
        }).Build();
        var services = new ServiceCollection();
        services.AddTelehealthMessaging(configuration.GetSection("Telehealth")).UseInMemoryRelay("di-" + Guid.NewGuid().ToString("N")).UseStore(new InMemoryDeviceStore());

        await using ServiceProvider provider = services.BuildServiceProvider();
        TelehealthClient client = provider.GetRequiredService<TelehealthClient>();
        TelehealthClientOptions options = provider.GetRequiredService<IOptions<TelehealthClientOptions>>().Value;
        Assert.Equal(new UserId("patient-di"), client.User);
        Assert.Equal(ParticipantRole.Patient, client.Role);
        Assert.Equal(new DeviceId("phone-di"), options.Device);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.OutboxBaseRetryDelay);
        await client.StartAsync();
        Assert.Equal(new DeviceId("phone-di"), client.Device);
        Assert.Same(client, provider.GetRequiredService<TelehealthClient>());
    }

    [Theory]
    [InlineData("Role", "nurse", "Telehealth:Role")]
    [InlineData("User", "not valid!", "Telehealth:User")]
    [InlineData("RelayEndpoint", "not a uri", "Telehealth:RelayEndpoint")]
    [InlineData("OutboxBaseRetryDelay", "soon", "Telehealth:OutboxBaseRetryDelay")]
    public void A_wrong_configuration_value_is_refused_naming_the_key(string key, string value, string named)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telehealth:User"] = "patient-di",
            ["Telehealth:RelayEndpoint"] = "memory://x",
            ["Telehealth:" + key] = value,
        }).Build();
        var services = new ServiceCollection();
        services.AddTelehealthMessaging(configuration.GetSection("Telehealth")).UseStore(new InMemoryDeviceStore());
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<TelehealthClient>());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_settings_are_refused_at_start_with_the_setting_named()
    {
        var services = new ServiceCollection();
        services.AddTelehealthMessaging(o => o.User = new UserId("someone"));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TelehealthClientOptions>>().Value);
        Assert.Contains("TelehealthClientOptions.RelayEndpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains("TelehealthClientOptions.Store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calling_it_twice_registers_one_client_and_one_http_pipeline_with_the_later_settings_on_top()
    {
        var services = new ServiceCollection();
        string relay = "twice-" + Guid.NewGuid().ToString("N");
        services.AddTelehealthMessaging(o => o.User = new UserId("first")).UseInMemoryRelay(relay).UseStore(new InMemoryDeviceStore());
        services.AddTelehealthMessaging(o => o.User = new UserId("second"));

        Assert.Single(services, d => d.ServiceType == typeof(TelehealthClient));
        await using ServiceProvider provider = services.BuildServiceProvider();
        Assert.Equal(new UserId("second"), provider.GetRequiredService<TelehealthClient>().User);
    }

    [Fact]
    public async Task Keyed_clients_hold_separate_identities_and_reach_each_other()
    {
        var services = new ServiceCollection();
        string relay = "keyed-" + Guid.NewGuid().ToString("N");
        services.AddTelehealthMessaging("alice", o => o.User = new UserId("alice")).UseInMemoryRelay(relay).UseStore(new InMemoryDeviceStore());
        services.AddTelehealthMessaging("bob", o => o.User = new UserId("bob")).UseInMemoryRelay(relay).UseStore(new InMemoryDeviceStore());
        await using ServiceProvider provider = services.BuildServiceProvider();
        TelehealthClient alice = provider.GetRequiredKeyedService<TelehealthClient>("alice");
        TelehealthClient bob = provider.GetRequiredKeyedService<TelehealthClient>("bob");
        var bobEvents = new EventRecorder(bob);
        await Task.WhenAll(alice.StartAsync(), bob.StartAsync());

        Conversation conversation = await alice.Conversations.OpenWithUserAsync(bob.User);
        ConversationMessage hello = await alice.Messages.SendTextAsync(conversation.Id, "hello");
        MessageReceivedEvent received = await bobEvents.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == hello.Id);
        Assert.Equal(alice.User, received.Message.Message.Sender.Id);
        Assert.NotEqual(alice.Device, bob.Device);
    }
}
