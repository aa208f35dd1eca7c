using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>Where an instance's audit key comes from: its own key file, or a signer the host passes in.</summary>
public sealed class RelayAuditKeyTests(SqliteStoreTarget target) : IClassFixture<SqliteStoreTarget>
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_host_signer_replaces_the_key_file_and_names_the_chain_by_the_host_instance_id()
    {
        Action<RelayOptions> store = await target.NewStoreAsync();
        using Ed25519PrivateKey key = Ed25519PrivateKey.Generate();
        var signer = new AuditSigner(key.PublicKey.ToArray(), message => key.Sign(message.Span));
        await using RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = _clock;
            o.AuditSigner = signer;
            o.AuditInstanceId = "relay-hsm-1";
        });
        using var client = new RelayTestClient(server.BaseAddress, _clock);
        using var device = new TestDevice();

        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(device)).Status);

        RelayAuditTrail trail = server.Services.GetRequiredService<RelayAuditTrail>();
        Assert.Equal(new DeviceId("relay-hsm-1"), trail.InstanceId);
        Assert.Equal(key.PublicKey.ToArray(), trail.SigningKey.ToArray());
        Assert.Equal(new DeviceId("relay-hsm-1"), Assert.Single(await trail.ReadAllAsync().ToListAsync()).Device);
        Assert.True((await trail.VerifyAsync()).IsValid);
        Assert.False(File.Exists(server.Services.GetRequiredService<RelayOptions>().ResolvedAuditKeyPath));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not an id")]
    public void A_host_signer_without_a_valid_instance_id_is_refused_when_the_relay_is_added(string? instanceId)
    {
        using Ed25519PrivateKey key = Ed25519PrivateKey.Generate();
        var signer = new AuditSigner(key.PublicKey.ToArray(), message => key.Sign(message.Span));

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTelehealthRelay(o =>
        {
            o.AuditSigner = signer;
            o.AuditInstanceId = instanceId;
        }));

        Assert.Contains("AuditInstanceId", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_key_file_that_other_users_may_read_is_refused_at_start()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes only.");
        Action<RelayOptions> store = await target.NewStoreAsync();
        Action<RelayOptions> configure = o =>
        {
            store(o);
            o.TimeProvider = _clock;
        };
        string keyFile;
        await using (RelayServer first = await RelayServer.StartAsync(configure))
        {
            keyFile = first.Services.GetRequiredService<RelayOptions>().ResolvedAuditKeyPath;
        }

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => RelayServer.StartAsync(configure));

        Assert.Contains("chmod 600", refused.ToString(), StringComparison.Ordinal);
    }
}
