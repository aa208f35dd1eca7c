using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Relay.Tests.Transport;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests;

/// <summary>
/// Scenarios that run unchanged against every store (see <see cref="SqliteRelayTests"/> and <see cref="PostgresRelayTests"/>),
/// each on a real relay listening on 127.0.0.1.
/// </summary>
public abstract partial class RelayScenarioTests(IRelayStoreTarget target) : IDisposable
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly List<RelayTestClient> _clients = [];

    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected IRelayStoreTarget Target => target;

    private protected async Task<(RelayServer Server, RelayTestClient Client)> StartAsync(Action<RelayOptions>? configure = null, Action<RelayOptions>? store = null, Action<IServiceCollection>? services = null)
    {
        store ??= await target.NewStoreAsync();
        RelayServer server = await RelayServer.StartAsync(
            o =>
            {
                store(o);
                o.TimeProvider = Clock;
                configure?.Invoke(o);
            },
            services);
        var client = new RelayTestClient(server.BaseAddress, Clock);
        _clients.Add(client);
        return (server, client);
    }

    public void Dispose()
    {
        foreach (RelayTestClient client in _clients)
        {
            client.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private protected static async Task<TestDevice> RegisteredAsync(RelayTestClient client, UserId? user = null)
    {
        var device = new TestDevice(user);
        RelayResponse response = await client.RegisterAsync(device);
        Assert.True(response.Status == HttpStatusCode.Created, response.ToString());
        return device;
    }

    [SkippableFact]
    public async Task Devices_with_published_keys_are_listed_with_their_identity_keys()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        var user = UserId.New();
        TestDevice phone = await RegisteredAsync(client, user);
        TestDevice tablet = await RegisteredAsync(client, user);
        await RegisteredAsync(client, user); // registered, but without keys: nobody can seal to it yet
        TestDevice other = await RegisteredAsync(client);
        Assert.Equal(HttpStatusCode.NoContent, (await UploadPrekeysAsync(client, phone, 1, 1)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await UploadPrekeysAsync(client, tablet, 1, 1)).Status);

        RelayResponse list = await client.SendAsync(HttpMethod.Get, $"/v1/users/{user}/devices", other);

        Assert.Equal(HttpStatusCode.OK, list.Status);
        var devices = list.Json()["devices"]!.AsArray();
        Assert.Equal(
            new[] { phone.DeviceId.Value, tablet.DeviceId.Value }.Order(StringComparer.Ordinal),
            devices.Select(d => d!["deviceId"]!.GetValue<string>()));
        var listedPhone = devices.Single(d => d!["deviceId"]!.GetValue<string>() == phone.DeviceId.Value)!;
        Assert.Equal(phone.IdentityKey.PublicKey.ToArray(), Convert.FromBase64String(listedPhone["identityKey"]!.GetValue<string>()));
    }

    [SkippableFact]
    public async Task Registration_is_idempotent_and_another_key_for_the_same_device_conflicts()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice device = await RegisteredAsync(client);

        RelayResponse again = await client.RegisterAsync(device);
        using var impostor = new TestDevice(device.UserId, device.DeviceId);
        RelayResponse conflict = await client.RegisterAsync(impostor);

        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
        Assert.Equal("device_conflict", conflict.ProblemCode());
        RelayDevice? stored = await server.Services.GetRequiredService<IRelayStore>().GetDeviceAsync(device.DeviceId, CancellationToken.None);
        Assert.Equal(device.IdentityKey.PublicKey.ToArray(), stored!.IdentityKey);
    }

    [SkippableFact]
    public async Task Registration_requires_proof_of_possession_and_a_valid_key_binding()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        using var device = new TestDevice();
        using var stranger = new TestDevice(device.UserId, device.DeviceId);

        RelayResponse signedByAnotherKey = await client.RegisterAsync(device, signer: stranger);
        RelayResponse badBinding = await client.RegisterAsync(device, agreementSignature: stranger.IdentityKey.Sign(device.AgreementKey.PublicKey));

        Assert.Equal(HttpStatusCode.Unauthorized, signedByAnotherKey.Status);
        Assert.Equal("bad_signature", signedByAnotherKey.ProblemCode());
        Assert.Equal(HttpStatusCode.BadRequest, badBinding.Status);
        Assert.Equal("invalid_key_binding", badBinding.ProblemCode());
        Assert.Null(await server.Services.GetRequiredService<IRelayStore>().GetDeviceAsync(device.DeviceId, CancellationToken.None));
    }

    [SkippableFact]
    public async Task Bundle_claims_hand_out_one_time_prekeys_once_then_fall_back_to_the_last_resort_key()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice bob = await RegisteredAsync(client);
        TestDevice alice = await RegisteredAsync(client);
        RelayResponse upload = await UploadPrekeysAsync(client, bob, oneTimeCount: 2, kemCount: 1);
        Assert.Equal(HttpStatusCode.NoContent, upload.Status);

        var claims = new List<System.Text.Json.Nodes.JsonNode>();
        for (int i = 0; i < 3; i++)
        {
            RelayResponse claim = await client.SendAsync(HttpMethod.Post, $"/v1/users/{bob.UserId}/devices/{bob.DeviceId}/bundle", alice);
            Assert.True(claim.Status == HttpStatusCode.OK, claim.ToString());
            claims.Add(claim.Json());
        }

        Assert.Equal([0L, 1L], claims.Take(2).Select(c => c["oneTimePrekey"]!["keyId"]!.GetValue<long>()));
        Assert.Null(claims[2]["oneTimePrekey"]);
        Assert.Equal([false, true, true], claims.Select(c => c["kemPrekeyIsLastResort"]!.GetValue<bool>()));
        PublicPrekey lastResort = DirectoryKeys.ParsePrekey(Convert.FromBase64String(claims[2]["kemPrekey"]!["key"]!.GetValue<string>()), "kemPrekey");
        Assert.Equal((PrekeyKind.LastResortMLKem768, LastResortPrekeyId), (lastResort.Kind, lastResort.Id));
        Assert.Equal(bob.IdentityKey.PublicKey.ToArray(), Convert.FromBase64String(claims[0]["device"]!["identityKey"]!.GetValue<string>()));
    }

    [SkippableTheory]
    [InlineData(true, HttpStatusCode.ServiceUnavailable)]
    [InlineData(false, HttpStatusCode.InternalServerError)]
    public async Task A_transient_database_failure_answers_503_store_unavailable_with_retry_after_and_any_other_a_500(bool transient, HttpStatusCode expected)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(services: s => FailingClaimsStore.Install(s, transient));
        await using RelayServer _ = server;
        TestDevice bob = await RegisteredAsync(client);
        TestDevice alice = await RegisteredAsync(client);

        RelayResponse claim = await client.SendAsync(HttpMethod.Post, $"/v1/users/{bob.UserId}/devices/{bob.DeviceId}/bundle", alice);
        RelayResponse after = await client.SendAsync(HttpMethod.Get, $"/v1/users/{bob.UserId}/devices", alice);

        Assert.Equal(expected, claim.Status);
        if (transient)
        {
            Assert.Equal("store_unavailable", claim.ProblemCode());
            Assert.Equal(TimeSpan.FromSeconds(1), claim.RetryAfter);
        }

        // Nothing of the database's error reaches the client, and the relay goes on serving.
        Assert.DoesNotContain("refused", Encoding.UTF8.GetString(claim.Body), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.Status);
    }

    [SkippableFact]
    public async Task Concurrent_claims_hand_out_each_of_100_one_time_prekeys_at_most_once()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.RateLimitBurst = o.RateLimitPerSecond = 10_000);
        await using RelayServer _ = server;
        TestDevice bob = await RegisteredAsync(client);
        Assert.Equal(HttpStatusCode.NoContent, (await UploadPrekeysAsync(client, bob, oneTimeCount: 100, kemCount: 100)).Status);
        var claimers = new List<TestDevice>();
        for (int i = 0; i < 10; i++)
        {
            claimers.Add(await RegisteredAsync(client));
        }

        RelayResponse[] responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i =>
            client.SendAsync(HttpMethod.Post, $"/v1/users/{bob.UserId}/devices/{bob.DeviceId}/bundle", claimers[i % claimers.Count])));

        Assert.All(responses, r => Assert.True(r.Status == HttpStatusCode.OK, r.ToString()));
        long[] oneTime = responses.Select(r => r.Json()["oneTimePrekey"]).Where(k => k is not null).Select(k => k!["keyId"]!.GetValue<long>()).ToArray();
        long[] kem = responses.Select(r => r.Json()).Where(j => !j["kemPrekeyIsLastResort"]!.GetValue<bool>()).Select(j => j["kemPrekey"]!["keyId"]!.GetValue<long>()).ToArray();
        Assert.Equal(oneTime.Length, oneTime.Distinct().Count());
        Assert.Equal(kem.Length, kem.Distinct().Count());
        // Every key is handed out: nothing is lost, only never duplicated.
        Assert.Equal(100, oneTime.Length);
        Assert.Equal(100, kem.Length);
    }

    [SkippableFact]
    public async Task Envelopes_are_fetched_by_cursor_and_deleted_when_acknowledged()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] first = bob.SealedEnvelope();
        byte[] second = bob.SealedEnvelope();

        RelayResponse submitted = await client.SubmitAsync(alice, ("m1", bob, first), ("m2", bob, second));
        var (all, cursor) = await client.FetchAsync(bob);
        var (afterFirst, _) = await client.FetchAsync(bob, all[0].Cursor);
        RelayResponse ack = await client.AcknowledgeAsync(bob, "m1");
        var (remaining, _) = await client.FetchAsync(bob);

        Assert.True(submitted.Status == HttpStatusCode.OK, submitted.ToString());
        Assert.Equal(["m1", "m2"], all.Select(e => e.Id));
        Assert.Equal(first, all[0].Data);
        Assert.Equal(second, all[1].Data);
        Assert.Equal(all[1].Cursor, cursor);
        Assert.Equal(["m2"], afterFirst.Select(e => e.Id));
        Assert.Equal(1, ack.Json()["deleted"]!.GetValue<int>());
        Assert.Equal(["m2"], remaining.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Resubmitting_an_envelope_id_stores_it_once_even_after_delivery()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] data = bob.SealedEnvelope();

        RelayResponse first = await client.SubmitAsync(alice, ("m1", bob, data), ("m1", bob, data));
        RelayResponse retry = await client.SubmitAsync(alice, ("m1", bob, data), ("m1", bob, data));
        var (pending, _) = await client.FetchAsync(bob);
        await client.AcknowledgeAsync(bob, "m1");
        RelayResponse afterDelivery = await client.SubmitAsync(alice, ("m1", bob, data));
        var (afterAck, _) = await client.FetchAsync(bob);

        Assert.Equal(["stored", "duplicate"], first.Json()["results"]!.AsArray().Select(r => r!["status"]!.GetValue<string>()));
        Assert.All(retry.Json()["results"]!.AsArray(), r => Assert.Equal("duplicate", r!["status"]!.GetValue<string>()));
        Assert.Single(pending);
        Assert.Equal("duplicate", afterDelivery.Json()["results"]![0]!["status"]!.GetValue<string>());
        Assert.Empty(afterAck);
    }

    [SkippableFact]
    public async Task Acknowledging_many_ids_at_once_deletes_each_own_envelope_once_and_remembers_it()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        TestDevice carol = await RegisteredAsync(client);
        byte[] data = bob.SealedEnvelope();
        await client.SubmitAsync(alice, ("m1", bob, data), ("m2", bob, bob.SealedEnvelope()), ("m3", bob, bob.SealedEnvelope()), ("c1", carol, carol.SealedEnvelope()));

        // Repeated ids, an id never stored and another mailbox's id in the same acknowledgement.
        RelayResponse ack = await client.AcknowledgeAsync(bob, "m1", "m3", "m1", "never-stored", "c1");
        var (bobMailbox, _) = await client.FetchAsync(bob);
        var (carolMailbox, _) = await client.FetchAsync(carol);
        RelayResponse resubmitted = await client.SubmitAsync(alice, ("m1", bob, data), ("m3", bob, data));
        RelayResponse again = await client.AcknowledgeAsync(bob, "m1", "m3");

        Assert.True(ack.Status == HttpStatusCode.OK, ack.ToString());
        Assert.Equal(2, ack.Json()["deleted"]!.GetValue<int>());
        Assert.Equal(["m2"], bobMailbox.Select(e => e.Id));
        Assert.Equal(["c1"], carolMailbox.Select(e => e.Id));
        Assert.All(resubmitted.Json()["results"]!.AsArray(), r => Assert.Equal("duplicate", r!["status"]!.GetValue<string>()));
        Assert.Equal(0, again.Json()["deleted"]!.GetValue<int>());
    }

    [SkippableFact]
    public async Task A_device_reads_and_acknowledges_only_its_own_mailbox()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        TestDevice mallory = await RegisteredAsync(client);
        await client.SubmitAsync(alice, ("for-bob", bob, bob.SealedEnvelope()));

        var (malloryMailbox, _) = await client.FetchAsync(mallory);
        RelayResponse malloryAck = await client.AcknowledgeAsync(mallory, "for-bob");
        RelayResponse malloryPrekeys = await UploadPrekeysAsync(client, mallory, 1, 1, targetDevice: bob);
        var (bobMailbox, _) = await client.FetchAsync(bob);

        Assert.Empty(malloryMailbox);
        Assert.Equal(0, malloryAck.Json()["deleted"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, malloryPrekeys.Status);
        Assert.Equal("not_own_mailbox", malloryPrekeys.ProblemCode());
        Assert.Equal(["for-bob"], bobMailbox.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Unsigned_badly_signed_stale_replayed_and_unknown_device_requests_are_refused_and_change_nothing()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using var unregistered = new TestDevice();
        byte[] body = Encoding.UTF8.GetBytes($$"""{"envelopes":[{"id":"x1","recipientDeviceId":"{{bob.DeviceId}}","data":"{{Convert.ToBase64String(bob.SealedEnvelope())}}"}]}""");
        byte[] otherBody = Encoding.UTF8.GetBytes($$"""{"envelopes":[{"id":"x2","recipientDeviceId":"{{bob.DeviceId}}","data":"{{Convert.ToBase64String(bob.SealedEnvelope())}}"}]}""");

        RelayResponse unsigned = await client.SendAsync(HttpMethod.Post, "/v1/messages", null, body);
        RelayResponse tamperedSignature = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, tamper: h => h with { Signature = Base64Url.Encode(new byte[64]) });
        RelayResponse otherDeviceHeader = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, tamper: h => h with { Device = bob.DeviceId.Value });
        RelayResponse stale = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, signedAt: Clock.GetUtcNow().AddMinutes(-6));
        RelayResponse future = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, signedAt: Clock.GetUtcNow().AddMinutes(6));
        RelayResponse unknown = await client.SendAsync(HttpMethod.Post, "/v1/messages", unregistered, body);
        RelayResponse original = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, otherBody);
        RelayResponse replay = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, otherBody, headersOverride: original.SentHeaders);
        // The same signature headers on another body: the digest no longer matches.
        RelayResponse swappedBody = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, headersOverride: original.SentHeaders! with { Nonce = original.SentHeaders.Nonce });

        Assert.Equal("missing_signature", Refused(unsigned));
        Assert.Equal("bad_signature", Refused(tamperedSignature));
        Assert.Equal("bad_signature", Refused(otherDeviceHeader));
        Assert.Equal("stale_request", Refused(stale));
        Assert.Equal("stale_request", Refused(future));
        Assert.Equal("unknown_device", Refused(unknown));
        Assert.Equal(HttpStatusCode.OK, original.Status);
        Assert.Equal("replayed_nonce", Refused(replay));
        Assert.Equal("bad_signature", Refused(swappedBody));
        var (mailbox, _) = await client.FetchAsync(bob);
        Assert.Equal(["x2"], mailbox.Select(e => e.Id));

        static string Refused(RelayResponse response)
        {
            Assert.True(response.Status == HttpStatusCode.Unauthorized, response.ToString());
            return response.ProblemCode();
        }
    }

    [SkippableFact]
    public async Task The_host_authorizer_can_refuse_a_request_with_403_and_nothing_is_stored()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(services: s => s.AddSingleton<IRelayAuthorizer>(new RefuseSubmissions()));
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);

        RelayResponse refused = await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("forbidden", refused.ProblemCode());
        Assert.Empty((await client.FetchAsync(bob)).Envelopes);
    }

    public static TheoryData<string, string, string, HttpStatusCode, string> BadSubmissions()
    {
        string valid = "\"id\":\"m1\",\"recipientDeviceId\":\"{R}\"";
        return new()
        {
            { "invalid JSON", "POST", "{\"envelopes\":[", HttpStatusCode.BadRequest, "invalid_json" },
            { "not an object", "POST", "[1,2,3]", HttpStatusCode.BadRequest, "invalid_json" },
            { "unknown member", "POST", "{\"envelopes\":[],\"extra\":1}", HttpStatusCode.BadRequest, "invalid_json" },
            { "empty batch", "POST", "{\"envelopes\":[]}", HttpStatusCode.BadRequest, "invalid_field" },
            { "data not base64", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"!!notbase64!!\"}]}", HttpStatusCode.BadRequest, "invalid_json" },
            { "truncated envelope", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"{TRUNCATED}\"}]}", HttpStatusCode.BadRequest, "invalid_envelope" },
            { "garbage envelope", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"{GARBAGE}\"}]}", HttpStatusCode.BadRequest, "invalid_envelope" },
            { "unknown envelope version", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"{VERSION2}\"}]}", HttpStatusCode.BadRequest, "unknown_envelope_version" },
            { "header names another recipient", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"{OTHER}\"}]}", HttpStatusCode.BadRequest, "recipient_mismatch" },
            { "invalid message id", "POST", "{\"envelopes\":[{\"id\":\"a/b\",\"recipientDeviceId\":\"{R}\",\"data\":\"{VALID}\"}]}", HttpStatusCode.BadRequest, "invalid_field" },
            { "oversized envelope", "POST", "{\"envelopes\":[{" + valid + ",\"data\":\"{HUGE}\"}]}", HttpStatusCode.RequestEntityTooLarge, "too_large" },
        };
    }

    [SkippableTheory]
    [MemberData(nameof(BadSubmissions))]
    public async Task Bad_submissions_get_problem_json_store_nothing_and_the_relay_keeps_serving(string _, string method, string template, HttpStatusCode status, string code)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.MaxEnvelopeBytes = 1024);
        await using RelayServer __ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using var carol = new TestDevice();
        byte[] validEnvelope = bob.SealedEnvelope();
        byte[] version2 = (byte[])validEnvelope.Clone();
        version2[0] = 2;
        string json = template
            .Replace("{R}", bob.DeviceId.Value)
            .Replace("{VALID}", Convert.ToBase64String(validEnvelope))
            .Replace("{TRUNCATED}", Convert.ToBase64String(validEnvelope.AsSpan(0, validEnvelope.Length - 40)))
            .Replace("{GARBAGE}", Convert.ToBase64String([1, .. Encoding.UTF8.GetBytes("~definitely not a sealed envelope, just text that is long enough")]))
            .Replace("{VERSION2}", Convert.ToBase64String(version2))
            .Replace("{OTHER}", Convert.ToBase64String(carol.SealedEnvelope()))
            .Replace("{HUGE}", Convert.ToBase64String(bob.SealedEnvelope(2048)));

        RelayResponse response = await client.SendAsync(new HttpMethod(method), "/v1/messages", alice, Encoding.UTF8.GetBytes(json));

        Assert.True(response.Status == status, response.ToString());
        Assert.Equal(code, response.ProblemCode());
        Assert.Empty((await client.FetchAsync(bob)).Envelopes);
        RelayResponse health = await client.SendAsync(HttpMethod.Get, "/health", null);
        Assert.Equal(HttpStatusCode.OK, health.Status);
    }

    [SkippableFact]
    public async Task Oversized_bodies_and_batches_get_413()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o =>
        {
            o.MaxRequestBodyBytes = 64 * 1024;
            o.MaxBatchEnvelopes = 3;
        });
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);

        RelayResponse bodyTooLarge = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, new byte[(64 * 1024) + 1]);
        RelayResponse batchTooLarge = await client.SubmitAsync(alice, Enumerable.Range(0, 4).Select(i => ($"m{i}", bob, bob.SealedEnvelope())).ToArray());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bodyTooLarge.Status);
        Assert.Equal("too_large", bodyTooLarge.ProblemCode());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, batchTooLarge.Status);
        Assert.Empty((await client.FetchAsync(bob)).Envelopes);
    }

    [SkippableFact]
    public async Task Unknown_api_versions_and_routes_get_problem_json_404()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);

        RelayResponse v2 = await client.SendAsync(HttpMethod.Get, "/v2/messages", alice);
        RelayResponse unknown = await client.SendAsync(HttpMethod.Post, "/v1/nothing-here", alice, [1, 2, 3]);

        Assert.Equal(HttpStatusCode.NotFound, v2.Status);
        Assert.Equal("unknown_route", v2.ProblemCode());
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("unknown_route", unknown.ProblemCode());
    }

    [SkippableFact]
    public async Task A_full_mailbox_answers_429_with_retry_after_and_stores_nothing_of_the_batch()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.MaxPendingPerMailbox = 2);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        TestDevice carol = await RegisteredAsync(client);
        await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()));

        RelayResponse full = await client.SubmitAsync(alice, ("c1", carol, carol.SealedEnvelope()), ("m2", bob, bob.SealedEnvelope()), ("m3", bob, bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.TooManyRequests, full.Status);
        Assert.Equal("mailbox_full", full.ProblemCode());
        Assert.NotNull(full.RetryAfter);
        Assert.Single((await client.FetchAsync(bob)).Envelopes);
        Assert.Empty((await client.FetchAsync(carol)).Envelopes);
    }

    [SkippableFact]
    public async Task A_device_over_its_rate_limit_gets_429_with_retry_after()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o =>
        {
            o.RateLimitBurst = 3;
            o.RateLimitPerSecond = 1;
        });
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);

        var statuses = new List<HttpStatusCode>();
        RelayResponse last = null!;
        for (int i = 0; i < 5; i++)
        {
            last = await client.SendAsync(HttpMethod.Get, "/v1/messages", alice);
            statuses.Add(last.Status);
        }

        RelayResponse otherDevice = await client.SendAsync(HttpMethod.Get, "/v1/messages", bob);

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, last.Status);
        Assert.Equal("rate_limited", last.ProblemCode());
        Assert.NotNull(last.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, otherDevice.Status);
    }

    [SkippableFact]
    public async Task Revoking_a_device_closes_its_open_websocket_with_policy_violation()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        var user = UserId.New();
        TestDevice phone = await RegisteredAsync(client, user);
        TestDevice stolen = await RegisteredAsync(client, user);
        using ClientWebSocket socket = await client.ConnectAsync(stolen);

        RelayResponse revoked = await client.SendAsync(HttpMethod.Delete, $"/v1/users/{user}/devices/{stolen.DeviceId}", phone);

        Assert.Equal(HttpStatusCode.NoContent, revoked.Status);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.ReceiveCloseAsync(Timeout));
    }

    [SkippableFact]
    public async Task A_refused_submission_still_spends_its_nonce_so_replaying_it_later_is_refused_and_stores_nothing()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        using var later = new TestDevice();
        byte[] body = Encoding.UTF8.GetBytes($$"""{"envelopes":[{"id":"r1","recipientDeviceId":"{{later.DeviceId}}","data":"{{Convert.ToBase64String(later.SealedEnvelope())}}"}]}""");

        // The nonce is recorded in the submission's own transaction; it must stay recorded when the batch is refused.
        RelayResponse refused = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(later)).Status);
        RelayResponse replayed = await client.SendAsync(HttpMethod.Post, "/v1/messages", alice, body, headersOverride: refused.SentHeaders);

        Assert.Equal(HttpStatusCode.NotFound, refused.Status);
        Assert.Equal("unknown_recipient", refused.ProblemCode());
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.Status);
        Assert.Equal("replayed_nonce", replayed.ProblemCode());
        Assert.Empty((await client.FetchAsync(later)).Envelopes);
    }

    [SkippableFact]
    public async Task An_address_that_keeps_failing_authentication_is_refused_with_429_before_any_signature_check()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.FailedAuthenticationsPerMinute = 3);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        // Successful requests spend nothing: many of them leave the address's allowance whole.
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Get, "/v1/messages", alice)).Status);
        }

        var failures = new List<HttpStatusCode>();
        for (int i = 0; i < 3; i++)
        {
            failures.Add((await client.SendAsync(HttpMethod.Get, "/v1/messages", alice, tamper: h => h with { Signature = Base64Url.Encode(new byte[64]) })).Status);
        }

        RelayResponse wellSigned = await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()));
        RelayResponse unsigned = await client.SendAsync(HttpMethod.Get, "/v1/messages", null);

        Assert.All(failures, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, wellSigned.Status);
        Assert.Equal("too_many_failures", wellSigned.ProblemCode());
        Assert.NotNull(wellSigned.RetryAfter);
        Assert.Equal("too_many_failures", unsigned.ProblemCode());
        Assert.Empty((await server.Services.GetRequiredService<IRelayStore>().FetchEnvelopesAsync(bob.DeviceId, 0, 10, Clock.GetUtcNow(), CancellationToken.None)));
    }

    [SkippableFact]
    public async Task WebSocket_pushes_pending_then_new_envelopes_takes_acks_and_resumes_after_the_cursor()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] early = bob.SealedEnvelope();
        byte[] late = bob.SealedEnvelope();
        await client.SubmitAsync(alice, ("early", bob, early));

        long cursor;
        using (ClientWebSocket socket = await client.ConnectAsync(bob))
        {
            var pending = await socket.ReceiveAsync(Timeout);
            Assert.Equal("envelope", pending["type"]!.GetValue<string>());
            Assert.Equal("early", pending["id"]!.GetValue<string>());
            Assert.Equal(early, Convert.FromBase64String(pending["data"]!.GetValue<string>()));

            await client.SubmitAsync(alice, ("late", bob, late));
            var pushed = await socket.ReceiveAsync(Timeout);
            Assert.Equal("late", pushed["id"]!.GetValue<string>());
            cursor = long.Parse(pending["cursor"]!.GetValue<string>());
            await socket.SendAckAsync("early");
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        // Reconnect from the cursor of the first envelope: only what came after it is sent again.
        using ClientWebSocket resumed = await client.ConnectAsync(bob, cursor);
        var again = await resumed.ReceiveAsync(Timeout);
        Assert.Equal("late", again["id"]!.GetValue<string>());
        Assert.Equal(["late"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task An_unsigned_WebSocket_upgrade_is_refused()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice bob = await RegisteredAsync(client);
        var uri = new UriBuilder(new Uri(server.BaseAddress, "/v1/ws")) { Scheme = "ws" }.Uri;

        using var unsigned = new ClientWebSocket();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => unsigned.ConnectAsync(uri, CancellationToken.None));
        using ClientWebSocket signed = await client.ConnectAsync(bob);

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        Assert.Equal(WebSocketState.Open, signed.State);
    }

    [SkippableFact]
    public async Task Killing_the_relay_mid_stream_and_starting_it_again_loses_nothing()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer first, RelayTestClient client) = await StartAsync(store: store);
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        var sent = Enumerable.Range(0, 20).Select(i => ($"m{i:D2}", bob, bob.SealedEnvelope())).ToArray();
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, sent)).Status);

        using (ClientWebSocket socket = await client.ConnectAsync(bob))
        {
            for (int i = 0; i < 5; i++)
            {
                var frame = await socket.ReceiveAsync(Timeout);
                await socket.SendAckAsync(frame["id"]!.GetValue<string>());
            }

            // Wait until the relay has applied the five acks (a fetch sees fifteen), then kill it with the socket open.
            await WaitUntilAsync(async () => (await client.FetchAsync(bob)).Envelopes.Count == 15);
            await first.KillAsync();
        }

        await first.DisposeAsync();
        (RelayServer second, RelayTestClient again) = await StartAsync(store: store);
        await using RelayServer _ = second;
        var (pending, _) = await again.FetchAsync(bob);

        Assert.Equal(sent.Skip(5).Select(s => s.Item1), pending.Select(e => e.Id));
        Assert.Equal(sent.Skip(5).Select(s => s.Item3), pending.Select(e => e.Data));
    }

    [SkippableFact]
    public async Task Undelivered_envelopes_expire_after_the_time_to_live()
    {
        (RelayServer server, RelayTestClient client) = await StartWithThirtyDayTimeToLiveAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        await client.SubmitAsync(alice, ("old", bob, bob.SealedEnvelope()));
        Clock.Advance(TimeSpan.FromDays(29));
        await client.SubmitAsync(alice, ("young", bob, bob.SealedEnvelope()));
        Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        RelayPurgeResult purged = await server.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(1, purged.Envelopes);
        Assert.Equal(["young"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
        Assert.Contains(server.Logs.Lines, l => l.Contains("purge deleted 1 expired envelopes", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Delivered_ids_are_remembered_for_the_time_to_live_and_then_forgotten_by_the_purge()
    {
        (RelayServer server, RelayTestClient client) = await StartWithThirtyDayTimeToLiveAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        await client.SubmitAsync(alice, ("early", bob, bob.SealedEnvelope()));
        await client.AcknowledgeAsync(bob, "early");
        Clock.Advance(TimeSpan.FromDays(29));
        await client.SubmitAsync(alice, ("late", bob, bob.SealedEnvelope()));
        await client.AcknowledgeAsync(bob, "late");
        Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        ExpiryPurgeService purge = server.Services.GetRequiredService<ExpiryPurgeService>();

        RelayPurgeResult purged = await purge.PurgeOnceAsync(CancellationToken.None);
        RelayResponse resubmitted = await client.SubmitAsync(alice, ("early", bob, bob.SealedEnvelope()), ("late", bob, bob.SealedEnvelope()));

        Assert.Equal(1, purged.DeliveredIds);
        // "early" was acknowledged more than the time to live ago: a new envelope; "late" is still a resubmission.
        Assert.Equal(["stored", "duplicate"], resubmitted.Json()["results"]!.AsArray().Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal(["early"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    /// <summary>A relay keeping envelopes and delivered ids for 30 days, whose purge runs only when a test runs it.</summary>
    private Task<(RelayServer Server, RelayTestClient Client)> StartWithThirtyDayTimeToLiveAsync() =>
        StartAsync(o =>
        {
            o.EnvelopeTimeToLive = TimeSpan.FromDays(30);
            // Out of the way: these tests run the purge themselves, so the periodic one must not fire as the clock moves.
            o.PurgeInterval = System.Threading.Timeout.InfiniteTimeSpan;
        });

    [SkippableFact]
    public async Task Attachments_stream_in_and_out_and_are_write_once()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.MaxBlobBytes = 1024 * 1024);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] blob = new byte[700_000];
        Random.Shared.NextBytes(blob);
        string blobId = Base64Url.Encode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

        RelayResponse upload = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{blobId}", alice, blob, contentType: "application/octet-stream");
        RelayResponse again = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{blobId}", alice, blob, contentType: "application/octet-stream");
        RelayResponse download = await client.SendAsync(HttpMethod.Get, $"/v1/attachments/{blobId}", bob);
        RelayResponse unsigned = await client.SendAsync(HttpMethod.Get, $"/v1/attachments/{blobId}", null);

        Assert.True(upload.Status == HttpStatusCode.Created, upload.ToString());
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.Equal(blob, download.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.Status);
    }

    [SkippableFact]
    public async Task Attachment_uploads_that_are_too_large_or_badly_signed_leave_nothing_behind()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.MaxBlobBytes = 1000);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        string tooLargeId = "tooLarge_0123456789";
        string tamperedId = "tampered_0123456789";

        RelayResponse tooLarge = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{tooLargeId}", alice, new byte[1001], contentType: "application/octet-stream");
        RelayResponse tampered = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{tamperedId}", alice, new byte[10], tamper: h => h with { Signature = Base64Url.Encode(new byte[64]) }, contentType: "application/octet-stream");
        RelayResponse unsigned = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{tamperedId}", null, new byte[10], contentType: "application/octet-stream");
        RelayResponse stale = await client.SendAsync(HttpMethod.Put, $"/v1/attachments/{tamperedId}", alice, new byte[10], signedAt: Clock.GetUtcNow().AddMinutes(-10), contentType: "application/octet-stream");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);
        Assert.Equal("too_large", tooLarge.ProblemCode());
        Assert.Equal("bad_signature", tampered.ProblemCode());
        Assert.Equal("missing_signature", unsigned.ProblemCode());
        Assert.Equal("stale_request", stale.ProblemCode());
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(HttpMethod.Get, $"/v1/attachments/{tooLargeId}", alice)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(HttpMethod.Get, $"/v1/attachments/{tamperedId}", alice)).Status);
        string blobFolder = server.Services.GetRequiredService<RelayOptions>().ResolvedBlobDirectory;
        Assert.Empty(Directory.Exists(blobFolder) ? Directory.GetFiles(blobFolder) : []);
    }

    [SkippableTheory]
    [InlineData("/v1/attachments/..%2F..%2Frelay.db")]
    [InlineData("/v1/attachments/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd")]
    [InlineData("/v1/attachments/AAAAAAAAAAAAAAAA.bin")]
    [InlineData("/v1/attachments/short")]
    [InlineData("/v1/attachments/..%5C..%5Crelay.db0000000")]
    public async Task Path_traversal_in_blob_ids_is_refused_with_problem_json(string path)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);

        RelayResponse put = await client.SendAsync(HttpMethod.Put, path, alice, [1, 2, 3], contentType: "application/octet-stream");
        RelayResponse get = await client.SendAsync(HttpMethod.Get, path, alice);

        Assert.Contains(put.Status, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
        Assert.Contains(get.Status, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
        Assert.Equal("application/problem+json", put.MediaType);
        Assert.Equal("application/problem+json", get.MediaType);
        string dataFolder = Path.GetDirectoryName(server.Services.GetRequiredService<RelayOptions>().ResolvedBlobDirectory)!;
        string[] files = Directory.Exists(dataFolder) ? Directory.GetFiles(dataFolder, "*", SearchOption.AllDirectories) : [];
        Assert.DoesNotContain(files, f => !Path.GetFileName(f).StartsWith("relay.db", StringComparison.Ordinal) && Path.GetFileName(f) != "audit-key");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Get, "/health", null)).Status);
    }

    [SkippableFact]
    public async Task Logs_carry_ids_and_sizes_but_never_envelope_or_key_bytes()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] envelope = bob.SealedEnvelope();
        await client.SubmitAsync(alice, ("m1", bob, envelope));
        await client.SendAsync(HttpMethod.Post, "/v1/messages", null, [1, 2]);
        await client.FetchAsync(bob);
        await client.AcknowledgeAsync(bob, "m1");

        string[] secrets = [Convert.ToBase64String(envelope), Convert.ToBase64String(envelope.AsSpan(^16)), Convert.ToBase64String(alice.IdentityKey.PublicKey), Convert.ToBase64String(bob.AgreementKey.PublicKey)];
        Assert.NotEmpty(server.Logs.Lines);
        Assert.Contains(server.Logs.Lines, l => l.Contains(bob.DeviceId.Value, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => secrets.Any(s => l.Contains(s, StringComparison.Ordinal)));
    }

    [SkippableFact]
    public async Task Readiness_reports_a_migrated_store()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;

        RelayResponse ready = await client.SendAsync(HttpMethod.Get, "/ready", null);
        RelayResponse openApi = await client.SendAsync(HttpMethod.Get, "/openapi/telehealth-relay-v1.json", null);

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(HttpStatusCode.OK, openApi.Status);
        Assert.NotNull(openApi.Json()["paths"]!["/v1/messages"]);
        // Every /v1 operation may answer 503 store_unavailable while the database is out (relay.md's error table).
        var operations = openApi.Json()["paths"]!.AsObject().Where(path => path.Key.StartsWith("/v1/", StringComparison.Ordinal)).SelectMany(path => path.Value!.AsObject().Select(operation => (Name: path.Key + " " + operation.Key, Responses: operation.Value!["responses"]!.AsObject()))).ToList();
        Assert.NotEmpty(operations);
        Assert.All(operations, operation => Assert.True(operation.Responses.ContainsKey("503"), operation.Name));
    }

    private protected const uint SignedPrekeyId = 1000;
    private protected const uint LastResortPrekeyId = 1001;

    /// <summary>Uploads an envelope key and prekeys signed by <paramref name="device"/>: one-time ids 0 to count - 1 of each kind.</summary>
    private protected static async Task<RelayResponse> UploadPrekeysAsync(RelayTestClient client, TestDevice device, int oneTimeCount, int kemCount, TestDevice? targetDevice = null)
    {
        // One ML-KEM key serves every KEM prekey: each is signed with its own id, which is all the relay checks.
        using var kemKey = MLKem768PrivateKey.Generate();
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        byte[] Prekey(PrekeyKind kind, uint id, ReadOnlySpan<byte> key) => DirectoryKeys.Encode(PublicPrekey.Create(device.Identity, kind, id, now, key));
        byte[] x25519 = RandomNumberGenerator.GetBytes(X25519PrivateKey.PublicKeySize);
        return await client.SendAsync(
            HttpMethod.Put,
            $"/v1/devices/{(targetDevice ?? device).DeviceId}/prekeys",
            device,
            Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new
            {
                envelopeKey = SignedEnvelopeKey.Create(device.Identity, device.DeviceId, 1, now, x25519).Encode(),
                signedPrekey = Prekey(PrekeyKind.SignedX25519, SignedPrekeyId, x25519),
                lastResortKemPrekey = LastResortPrekey(device, kemKey.EncapsulationKey, now),
                oneTimePrekeys = Enumerable.Range(0, oneTimeCount).Select(i => new { keyId = (long)i, key = Prekey(PrekeyKind.OneTimeX25519, (uint)i, x25519) }).ToArray(),
                oneTimeKemPrekeys = Enumerable.Range(0, kemCount).Select(i => new { keyId = (long)i, key = Prekey(PrekeyKind.OneTimeMLKem768, (uint)i, kemKey.EncapsulationKey) }).ToArray(),
            })));
    }

    private protected static byte[] LastResortPrekey(TestDevice device, ReadOnlySpan<byte> kemPublicKey, ulong createdAt) =>
        DirectoryKeys.Encode(PublicPrekey.Create(device.Identity, PrekeyKind.LastResortMLKem768, LastResortPrekeyId, createdAt, kemPublicKey));

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        while (!await condition())
        {
            // Re-checks a store condition the relay reaches asynchronously; the deadline bounds it.
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }
    }

    private sealed class RefuseSubmissions : IRelayAuthorizer
    {
        public ValueTask<bool> AuthorizeAsync(RelayAuthorizationContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(context.Operation != RelayOperation.SubmitEnvelopes);
    }
}

public sealed class SqliteRelayTests(SqliteStoreTarget target) : RelayScenarioTests(target), IClassFixture<SqliteStoreTarget>;
