using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Tests.Transport.DirectoryContract;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.DeviceDirectory;

/// <summary>
/// The directory contract through <see cref="HttpRelayDirectory"/> against the real relay, plus what only the real
/// relay has: raw wire checks, the authorizer, the purge and the OpenAPI document. One relay per test, started on
/// first use inside the test so that a missing PostgreSQL server skips (or, in CI, fails) the test itself.
/// </summary>
public abstract class RelayDirectoryTests(IRelayStoreTarget target) : RelayDirectoryContractTests
{
    private readonly ServiceProvider _services = new ServiceCollection().AddRelayTransportHttpClient().Services.BuildServiceProvider();
    private readonly List<RelayTestClient> _clients = [];
    private RelayServer? _server;

    private protected FakeTimeProvider? Clock { get; set; }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (RelayTestClient client in _clients)
        {
            client.Dispose();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _services.DisposeAsync();
    }

    [SkippableFact]
    public async Task Registration_signed_over_the_bare_agreement_key_is_refused()
    {
        RelayTestClient client = await ClientAsync();
        using var device = new TestDevice();

        RelayResponse response = await client.RegisterAsync(device, agreementSignature: device.IdentityKey.Sign(device.AgreementKey.PublicKey));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_key_binding", response.ProblemCode());
        Assert.Null(await Store.GetDeviceAsync(device.DeviceId, CancellationToken.None));
    }

    [SkippableTheory]
    [InlineData("envelopeKey", "invalid_envelope_key")]
    [InlineData("signedPrekey", "invalid_prekey")]
    [InlineData("lastResortKemPrekey", "invalid_prekey")]
    [InlineData("oneTimeKey", "invalid_prekey")]
    [InlineData("oneTimeKeyId", "invalid_prekey")]
    public async Task A_key_upload_with_a_bad_part_is_refused_and_stores_nothing(string spoiled, string problem)
    {
        RelayTestClient client = await ClientAsync();
        using var device = new TestDevice();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(device)).Status);
        using var other = new TestDevice();
        using var kem = MLKem768PrivateKey.Generate();
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        byte[] x25519 = RandomNumberGenerator.GetBytes(32);
        byte[] Prekey(TestDevice signer, PrekeyKind kind, uint id, ReadOnlySpan<byte> key) => DirectoryKeys.Encode(PublicPrekey.Create(signer.Identity, kind, id, now, key));

        var body = new Dictionary<string, object>
        {
            ["envelopeKey"] = spoiled == "envelopeKey"
                ? SignedEnvelopeKey.Create(device.Identity, other.DeviceId, 1, now, x25519).Encode()
                : SignedEnvelopeKey.Create(device.Identity, device.DeviceId, 1, now, x25519).Encode(),
            ["signedPrekey"] = spoiled == "signedPrekey" ? Encoding.UTF8.GetBytes("junk") : Prekey(device, PrekeyKind.SignedX25519, 1, x25519),
            ["lastResortKemPrekey"] = spoiled == "lastResortKemPrekey" ? Prekey(other, PrekeyKind.LastResortMLKem768, 2, kem.EncapsulationKey) : Prekey(device, PrekeyKind.LastResortMLKem768, 2, kem.EncapsulationKey),
            ["oneTimePrekeys"] = new[]
            {
                new { keyId = spoiled == "oneTimeKeyId" ? 4L : 3L, key = spoiled == "oneTimeKey" ? Prekey(device, PrekeyKind.SignedX25519, 3, x25519) : Prekey(device, PrekeyKind.OneTimeX25519, 3, x25519) },
            },
        };
        RelayResponse response = await client.SendAsync(HttpMethod.Put, $"/v1/devices/{device.DeviceId}/prekeys", device, JsonSerializer.SerializeToUtf8Bytes(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(problem, response.ProblemCode());
        Assert.Null((await Store.GetDeviceAsync(device.DeviceId, CancellationToken.None))!.EnvelopeKey);
        Assert.Null(await Store.ClaimPrekeyBundleAsync(device.UserId, device.DeviceId, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_revoked_device_has_no_mailbox_and_its_signed_requests_are_unauthorized()
    {
        RelayTestClient client = await ClientAsync();
        using var user = new TestDevice();
        using var lost = new TestDevice(user.UserId);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(user)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(lost)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(user, ("before", lost, lost.SealedEnvelope()))).Status);

        RelayResponse revoked = await client.SendAsync(HttpMethod.Delete, $"/v1/users/{user.UserId}/devices/{lost.DeviceId}", user);

        Assert.Equal(HttpStatusCode.NoContent, revoked.Status);
        RelayResponse fetch = await client.SendAsync(HttpMethod.Get, "/v1/messages", lost);
        Assert.Equal(HttpStatusCode.Unauthorized, fetch.Status);
        Assert.Equal("unknown_device", fetch.ProblemCode());
        RelayResponse submit = await client.SubmitAsync(user, ("after", lost, lost.SealedEnvelope()));
        Assert.Equal(HttpStatusCode.NotFound, submit.Status);
        Assert.Equal("unknown_recipient", submit.ProblemCode());
        Assert.Empty(await Store.FetchEnvelopesAsync(lost.DeviceId, 0, 10, DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_device_cannot_revoke_under_another_users_path()
    {
        RelayTestClient client = await ClientAsync();
        using var victim = new TestDevice();
        using var attacker = new TestDevice();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(victim)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(attacker)).Status);

        RelayResponse response = await client.SendAsync(HttpMethod.Delete, $"/v1/users/{victim.UserId}/devices/{victim.DeviceId}", attacker);

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal("not_own_device", response.ProblemCode());
        Assert.NotNull(await Store.GetDeviceAsync(victim.DeviceId, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_device_joins_and_leaves_clinics_only_for_itself()
    {
        RelayTestClient client = await ClientAsync();
        using var nurse = new TestDevice();
        using var other = new TestDevice();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(nurse)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(other)).Status);
        var clinic = ClinicId.New();

        RelayResponse join = await client.SendAsync(HttpMethod.Put, $"/v1/clinics/{clinic}/devices/{other.DeviceId}", nurse);
        RelayResponse leave = await client.SendAsync(HttpMethod.Delete, $"/v1/clinics/{clinic}/devices/{other.DeviceId}", nurse);

        Assert.Equal((HttpStatusCode.Forbidden, "not_own_device"), (join.Status, join.ProblemCode()));
        Assert.Equal((HttpStatusCode.Forbidden, "not_own_device"), (leave.Status, leave.ProblemCode()));
        Assert.Empty(await Store.ListClinicDevicesAsync(clinic, CancellationToken.None));
    }

    [SkippableFact]
    public async Task The_host_authorizer_decides_clinic_membership_and_sees_the_clinic()
    {
        var authorizer = new ClinicGate();
        RelayTestClient client = await ClientAsync(services: s => s.AddSingleton<IRelayAuthorizer>(authorizer));
        using var stranger = new TestDevice();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(stranger)).Status);
        var clinic = ClinicId.New();

        RelayResponse join = await client.SendAsync(HttpMethod.Put, $"/v1/clinics/{clinic}/devices/{stranger.DeviceId}", stranger);

        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), (join.Status, join.ProblemCode()));
        Assert.Equal(clinic, authorizer.RefusedClinic);
        Assert.Empty(await Store.ListClinicDevicesAsync(clinic, CancellationToken.None));
    }

    [SkippableFact]
    public async Task Expired_work_item_claims_are_purged_and_the_item_can_be_claimed_again()
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        RelayTestClient client = await ClientAsync(o =>
        {
            o.EnvelopeTimeToLive = TimeSpan.FromHours(1);

            // This test runs the purge itself; the periodic one must not fire as the clock moves.
            o.PurgeInterval = System.Threading.Timeout.InfiniteTimeSpan;
        });
        var clinic = ClinicId.New();
        using var first = new TestDevice();
        using var second = new TestDevice();
        foreach (TestDevice device in (TestDevice[])[first, second])
        {
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(device)).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(HttpMethod.Put, $"/v1/clinics/{clinic}/devices/{device.DeviceId}", device)).Status);
        }

        RelayResponse won = await client.SendAsync(HttpMethod.Post, $"/v1/clinics/{clinic}/claims/intake-1", first);
        Clock.Advance(TimeSpan.FromHours(1));
        RelayPurgeResult purged = await _server!.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);
        RelayResponse again = await client.SendAsync(HttpMethod.Post, $"/v1/clinics/{clinic}/claims/intake-1", second);

        Assert.Equal(first.DeviceId.Value, won.Json()["deviceId"]!.GetValue<string>());
        Assert.Equal(1, purged.WorkItemClaims);
        Assert.Equal(second.DeviceId.Value, again.Json()["deviceId"]!.GetValue<string>());
        Assert.Equal(second.UserId.Value, again.Json()["userId"]!.GetValue<string>());
    }

    [SkippableFact]
    public async Task The_directory_reaches_the_relay_through_a_websocket_endpoint_and_without_a_client_factory()
    {
        RelayServer server = await ServerAsync();
        using var device = new DirectoryTestDevice();
        var options = new RelayTransportOptions { Endpoint = new UriBuilder(server.BaseAddress) { Scheme = "ws" }.Uri, Device = device.Device, RequestSigner = device.Signer };
        await using IRelayDirectory directory = RelayDirectory.Create(options, device.User);

        await directory.RegisterAsync(device.PublicIdentity);
        await directory.PublishKeysAsync(device.Publication());

        Assert.Equal(device.Device, Assert.Single(await directory.ListDevicesAsync(device.User)).Device);
    }

    [SkippableFact]
    public async Task A_publication_larger_than_one_upload_is_sent_in_parts()
    {
        RelayServer server = await ServerAsync();
        using var device = new DirectoryTestDevice();
        await using IRelayDirectory directory = await ConnectAsync(device.User, device.Device, device.Signer);
        await directory.RegisterAsync(device.PublicIdentity);
        PublicPrekey template = device.Prekeys.OneTimePrekeys.First(p => p.Kind == PrekeyKind.OneTimeX25519);
        var many = Enumerable.Range(100, 250).Select(i => PublicPrekey.Create(device.Identity, PrekeyKind.OneTimeX25519, (uint)i, template.CreatedAt, template.PublicKey)).ToList();

        await directory.PublishKeysAsync(device.Publication() with { OneTimePrekeys = many });

        (_, IRelayDirectory claimer) = await RegisteredAsync();
        var handedOut = new HashSet<uint>();
        for (int i = 0; i < 250; i++)
        {
            handedOut.Add((await claimer.ClaimBundleAsync(device.User, device.Device)).Bundle.OneTimePrekey!.Id);
        }

        Assert.Equal(250, handedOut.Count);
        Assert.Null((await claimer.ClaimBundleAsync(device.User, device.Device)).Bundle.OneTimePrekey);
    }

    [SkippableFact]
    public async Task The_openapi_document_describes_the_directory_endpoints()
    {
        RelayTestClient client = await ClientAsync();

        RelayResponse openApi = await client.SendAsync(HttpMethod.Get, "/openapi/telehealth-relay-v1.json", null);

        var paths = openApi.Json()["paths"]!;
        Assert.NotNull(paths["/v1/users/{userId}/devices/{deviceId}"]!["delete"]);
        Assert.NotNull(paths["/v1/clinics/{clinicId}/devices/{deviceId}"]!["put"]);
        Assert.NotNull(paths["/v1/clinics/{clinicId}/devices/{deviceId}"]!["delete"]);
        Assert.NotNull(paths["/v1/clinics/{clinicId}/devices"]!["get"]);
        Assert.NotNull(paths["/v1/clinics/{clinicId}/claims/{itemId}"]!["post"]);
    }

    private protected override async Task<IRelayDirectory> ConnectAsync(UserId user, DeviceId device, Func<ReadOnlyMemory<byte>, byte[]> signer)
    {
        RelayServer server = await ServerAsync();
        var options = new RelayTransportOptions { Endpoint = server.BaseAddress, Device = device, RequestSigner = signer, TimeProvider = Clock ?? TimeProvider.System };
        return RelayDirectory.Create(options, user, _services.GetRequiredService<IHttpClientFactory>());
    }

    private IRelayStore Store => _server!.Services.GetRequiredService<IRelayStore>();

    private async Task<RelayServer> ServerAsync(Action<RelayOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        if (_server is null)
        {
            Action<RelayOptions> store = await target.NewStoreAsync();
            _server = await RelayServer.StartAsync(
                o =>
                {
                    store(o);
                    o.MaxBlobBytes = BlobLimit;
                    o.RateLimitBurst = o.RateLimitPerSecond = 10_000;
                    o.TimeProvider = Clock ?? TimeProvider.System;
                    configure?.Invoke(o);
                },
                services);
        }

        return _server;
    }

    private async Task<RelayTestClient> ClientAsync(Action<RelayOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        RelayServer server = await ServerAsync(configure, services);
        var client = new RelayTestClient(server.BaseAddress, Clock ?? TimeProvider.System);
        _clients.Add(client);
        return client;
    }

    /// <summary>Refuses every clinic join, as a host would for a device without a staff role, and remembers the clinic.</summary>
    private sealed class ClinicGate : IRelayAuthorizer
    {
        public ClinicId? RefusedClinic { get; private set; }

        public ValueTask<bool> AuthorizeAsync(RelayAuthorizationContext context, CancellationToken cancellationToken)
        {
            if (context.Operation != RelayOperation.JoinClinic)
            {
                return ValueTask.FromResult(true);
            }

            RefusedClinic = context.TargetClinicId;
            return ValueTask.FromResult(false);
        }
    }
}

public sealed class SqliteRelayDirectoryTests(SqliteStoreTarget target) : RelayDirectoryTests(target), IClassFixture<SqliteStoreTarget>;

public sealed class PostgresRelayDirectoryTests(PostgresStoreTarget target) : RelayDirectoryTests(target), IClassFixture<PostgresStoreTarget>;
