using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>The relay's audit trail on every store (see <see cref="SqliteRelayAuditTests"/> and <see cref="PostgresRelayAuditTests"/>).</summary>
public abstract class RelayAuditTests(IRelayStoreTarget target) : IDisposable
{
    private const string Clinic = "clinic-audit";

    private readonly List<RelayTestClient> _clients = [];

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero));

    protected IRelayStoreTarget Target => target;

    public void Dispose()
    {
        _clients.ForEach(c => c.Dispose());
        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task Every_audited_operation_appends_its_record_and_the_message_hot_path_appends_none()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer server, RelayTestClient client) = await StartAsync(store);
        await using RelayServer _ = server;
        RelayAuditTrail trail = server.Services.GetRequiredService<RelayAuditTrail>();
        using var alice = new TestDevice();
        using var bob = new TestDevice();
        using var impostor = new TestDevice(alice.UserId, alice.DeviceId);
        using var nurse = new TestDevice();
        using var colleague = new TestDevice();
        using var spare = new TestDevice(alice.UserId);

        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(alice)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.RegisterAsync(alice)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await client.RegisterAsync(impostor)).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(bob)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Scenario.UploadPrekeysAsync(client, bob, 1, 1)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Post, $"/v1/users/{bob.UserId}/devices/{bob.DeviceId}/bundle", alice)).Status);
        foreach (TestDevice member in (TestDevice[])[nurse, colleague])
        {
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(member)).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(HttpMethod.Put, $"/v1/clinics/{Clinic}/devices/{member.DeviceId}", member)).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Post, $"/v1/clinics/{Clinic}/claims/intake-1", nurse)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Post, $"/v1/clinics/{Clinic}/claims/intake-1", colleague)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(HttpMethod.Delete, $"/v1/clinics/{Clinic}/devices/{colleague.DeviceId}", colleague)).Status);
        long beforeHotPath = (await trail.ReadAllAsync().ToListAsync()).Count;
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ("m1", bob, bob.SealedEnvelope()), ("m2", bob, bob.SealedEnvelope()))).Status);
        Assert.Equal(2, (await client.FetchAsync(bob)).Envelopes.Count);
        Assert.Equal(HttpStatusCode.OK, (await client.AcknowledgeAsync(bob, "m1")).Status);
        long afterHotPath = (await trail.ReadAllAsync().ToListAsync()).Count;
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(spare)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(HttpMethod.Delete, $"/v1/users/{alice.UserId}/devices/{spare.DeviceId}", alice)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await client.RegisterAsync(spare)).Status);
        Clock.Advance(TimeSpan.FromDays(31));
        await server.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);
        string bundle = await trail.ExportFhirAsync();

        List<AuditRecord> records = await trail.ReadAllAsync().ToListAsync();
        UserId relay = new(trail.InstanceId.Value);
        string[] expected =
        [
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, alice.UserId, null, $"Device/{alice.DeviceId}", $"User/{alice.UserId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, alice.UserId, null, $"Device/{alice.DeviceId}", $"User/{alice.UserId}"),
            Line(AuditAction.IdentityKeyChanged, AuditOutcome.Denied, alice.UserId, null, $"Device/{alice.DeviceId}", $"User/{alice.UserId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, bob.UserId, null, $"Device/{bob.DeviceId}", $"User/{bob.UserId}"),
            Line(AuditAction.PrekeyBundleClaimed, AuditOutcome.Success, alice.UserId, null, $"Device/{bob.DeviceId}", $"User/{bob.UserId}", $"Device/{alice.DeviceId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, nurse.UserId, null, $"Device/{nurse.DeviceId}", $"User/{nurse.UserId}"),
            Line(AuditAction.ClinicJoined, AuditOutcome.Success, nurse.UserId, null, $"Clinic/{Clinic}", $"Device/{nurse.DeviceId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, colleague.UserId, null, $"Device/{colleague.DeviceId}", $"User/{colleague.UserId}"),
            Line(AuditAction.ClinicJoined, AuditOutcome.Success, colleague.UserId, null, $"Clinic/{Clinic}", $"Device/{colleague.DeviceId}"),
            Line(AuditAction.WorkItemClaimed, AuditOutcome.Success, nurse.UserId, null, $"Clinic/{Clinic}", "WorkItem/intake-1", $"Device/{nurse.DeviceId}"),
            Line(AuditAction.ClinicLeft, AuditOutcome.Success, colleague.UserId, null, $"Clinic/{Clinic}", $"Device/{colleague.DeviceId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Success, alice.UserId, null, $"Device/{spare.DeviceId}", $"User/{alice.UserId}"),
            Line(AuditAction.DeviceRevoked, AuditOutcome.Success, alice.UserId, null, $"Device/{spare.DeviceId}", $"Device/{alice.DeviceId}"),
            Line(AuditAction.DeviceRegistered, AuditOutcome.Denied, alice.UserId, null, $"Device/{spare.DeviceId}", $"User/{alice.UserId}"),
            Line(AuditAction.RetentionPurge, AuditOutcome.Success, relay, 1, []),
            Line(AuditAction.ExportMade, AuditOutcome.Success, relay, 15, $"Device/{trail.InstanceId}"),
        ];
        Assert.Equal(expected, records.Select(r => Line(r.Action, r.Outcome, r.Actor, r.Count, r.Subjects.Select(s => s.ToString()).ToArray())));
        Assert.Equal(beforeHotPath, afterHotPath);
        Assert.All(records, r => Assert.Equal(trail.InstanceId, r.Device));
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Sequence));
        AuditVerificationResult verified = await trail.VerifyAsync();
        Assert.True(verified.IsValid, verified.ToString());

        // The bundle covers every record before the export itself.
        using JsonDocument json = JsonDocument.Parse(bundle);
        Assert.Equal(15, json.RootElement.GetProperty("entry").GetArrayLength());
        Assert.All(json.RootElement.GetProperty("entry").EnumerateArray(), e => Assert.Equal("AuditEvent", e.GetProperty("resource").GetProperty("resourceType").GetString()));
    }

    [SkippableTheory]
    [InlineData("edit", AuditProblem.RecordModified)]
    [InlineData("delete", AuditProblem.RecordMissing)]
    public async Task Tampering_with_a_stored_row_is_detected_at_its_index(string tampering, AuditProblem problem)
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer server, RelayTestClient client) = await StartAsync(store);
        await using RelayServer _ = server;
        for (int i = 0; i < 5; i++)
        {
            using var device = new TestDevice();
            Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(device)).Status);
        }

        RelayAuditTrail trail = server.Services.GetRequiredService<RelayAuditTrail>();
        Assert.True((await trail.VerifyAsync()).IsValid);
        AuditRow row = (await AuditDatabase.RowsAsync(store)).Single(r => r.Collection == "records" && r.Name == AuditDatabase.RecordName(2));
        if (tampering == "edit")
        {
            // One bit of the recorded time: still a well-formed record, but not the one that was hashed.
            byte[] edited = (byte[])row.Value.Clone();
            edited[32 + 1 + 8 + 7] ^= 1;
            await AuditDatabase.ExecuteAsync(store, "UPDATE audit_log SET value = @v WHERE chain_id = @c AND collection = 'records' AND name = @n;", ("v", edited), ("c", row.Chain), ("n", row.Name));
        }
        else
        {
            await AuditDatabase.ExecuteAsync(store, "DELETE FROM audit_log WHERE chain_id = @c AND collection = 'records' AND name = @n;", ("c", row.Chain), ("n", row.Name));
        }

        AuditVerificationResult result = await trail.VerifyAsync();

        Assert.False(result.IsValid);
        Assert.Equal(problem, result.Problem);
        Assert.Equal(2, result.FirstBadIndex);
    }

    [SkippableFact]
    public async Task A_purge_records_its_envelope_count_reports_it_and_adds_it_to_the_metric()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer server, RelayTestClient client) = await StartAsync(store);
        await using RelayServer _ = server;
        RelayAuditTrail trail = server.Services.GetRequiredService<RelayAuditTrail>();
        using var purgedEnvelopes = new CounterReadings(server, "telehealth.relay.purged_envelopes");
        using var alice = new TestDevice();
        using var bob = new TestDevice();
        await client.RegisterAsync(alice);
        await client.RegisterAsync(bob);
        await client.SubmitAsync(alice, ("a", bob, bob.SealedEnvelope()), ("b", bob, bob.SealedEnvelope()), ("c", bob, bob.SealedEnvelope()));
        ExpiryPurgeService purge = server.Services.GetRequiredService<ExpiryPurgeService>();

        Assert.Null(trail.LastPurge);
        await purge.PurgeOnceAsync(CancellationToken.None); // nothing has expired: no record
        Clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));
        await purge.PurgeOnceAsync(CancellationToken.None);

        RelayPurgeReport? report = trail.LastPurge;
        Assert.Equal(new RelayPurgeReport(Clock.GetUtcNow(), 3, 0, Audited: true), report);
        Assert.Equal(3, purgedEnvelopes.Total);
        AuditRecord purged = Assert.Single(await trail.ReadAllAsync().Where(r => r.Action == AuditAction.RetentionPurge).ToListAsync());
        Assert.Equal(3, purged.Count);
        Assert.Equal(Clock.GetUtcNow(), purged.RecordedAt);
        Assert.Empty(purged.Subjects);
        Assert.True((await trail.VerifyAsync()).IsValid);
    }

    [SkippableFact]
    public async Task Registration_claims_and_purge_leave_no_envelope_or_key_bytes_in_audit_rows()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer server, RelayTestClient client) = await StartAsync(store);
        await using RelayServer _ = server;
        using var alice = new TestDevice();
        using var bob = new TestDevice();
        await client.RegisterAsync(alice);
        await client.RegisterAsync(bob);
        await Scenario.UploadPrekeysAsync(client, bob, 2, 2);
        RelayResponse bundle = await client.SendAsync(HttpMethod.Post, $"/v1/users/{bob.UserId}/devices/{bob.DeviceId}/bundle", alice);
        await client.SendAsync(HttpMethod.Put, $"/v1/clinics/{Clinic}/devices/{bob.DeviceId}", bob);
        await client.SendAsync(HttpMethod.Post, $"/v1/clinics/{Clinic}/claims/item-7", bob);
        byte[] envelope = bob.SealedEnvelope(256);
        await client.SubmitAsync(alice, ("canary", bob, envelope));
        Clock.Advance(TimeSpan.FromDays(31));
        await server.Services.GetRequiredService<ExpiryPurgeService>().PurgeOnceAsync(CancellationToken.None);

        List<AuditRow> rows = await AuditDatabase.RowsAsync(store);
        byte[] stored = rows.SelectMany(r => r.Value).ToArray();
        JsonElement claimed = JsonDocument.Parse(bundle.Body).RootElement;
        var secrets = new List<byte[]>
        {
            envelope[^200..],
            alice.IdentityKey.PublicKey.ToArray(), alice.AgreementKey.PublicKey.ToArray(), alice.BindingSignature,
            bob.IdentityKey.PublicKey.ToArray(), bob.AgreementKey.PublicKey.ToArray(), bob.BindingSignature,
            claimed.GetProperty("signedPrekey").GetBytesFromBase64(),
            claimed.GetProperty("oneTimePrekey").GetProperty("key").GetBytesFromBase64(),
            claimed.GetProperty("kemPrekey").GetProperty("key").GetBytesFromBase64(),
        };

        Assert.Contains(rows, r => r.Collection == "records");
        foreach (byte[] secret in secrets)
        {
            // Any 12-byte window of a key or of the ciphertext would be a leak, not a coincidence.
            for (int i = 0; i + 12 <= secret.Length; i += 4)
            {
                Assert.True(stored.AsSpan().IndexOf(secret.AsSpan(i, 12)) < 0, $"Audit rows hold bytes of a key or envelope (offset {i}).");
            }
        }
    }

    [SkippableFact]
    public async Task An_audit_append_that_fails_answers_503_audit_unavailable_and_counts_the_failure()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer server, RelayTestClient client) = await StartAsync(store);
        await using RelayServer _ = server;
        RelayAuditTrail trail = server.Services.GetRequiredService<RelayAuditTrail>();
        using var failures = new CounterReadings(server, "telehealth.relay.audit_failures");
        using var first = new TestDevice();
        Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(first)).Status);
        AuditRow written = (await AuditDatabase.RowsAsync(store)).Single(r => r.Collection == "records");

        // Someone else takes the next position of this instance's chain: the relay must not overwrite it.
        await AuditDatabase.ExecuteAsync(
            store,
            "INSERT INTO audit_log (chain_id, scope, collection, name, value) VALUES (@c, 'audit', 'records', @n, @v);",
            ("c", written.Chain),
            ("n", AuditDatabase.RecordName(1)),
            ("v", written.Value));
        using var second = new TestDevice();
        RelayResponse refused = await client.RegisterAsync(second);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("audit_unavailable", refused.ProblemCode());
        Assert.NotNull(refused.RetryAfter);
        Assert.Equal(1, failures.Total);
        Assert.Equal(written.Value, (await AuditDatabase.RowsAsync(store)).Single(r => r.Collection == "records" && r.Name == AuditDatabase.RecordName(1)).Value);
        Assert.Contains(server.Logs.Lines, l => l.Contains("audit trail could not record DeviceRegistered", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains(second.UserId.Value, StringComparison.Ordinal) && l.Contains("audit", StringComparison.OrdinalIgnoreCase));
        AuditVerificationResult result = await trail.VerifyAsync();
        Assert.Equal(AuditProblem.RecordInserted, result.Problem);
    }

    [SkippableFact]
    public async Task The_instance_keeps_its_chain_and_key_across_restarts()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer first, RelayTestClient client) = await StartAsync(store);
        DeviceId instance = first.Services.GetRequiredService<RelayAuditTrail>().InstanceId;
        byte[] key = first.Services.GetRequiredService<RelayAuditTrail>().SigningKey.ToArray();
        using (var device = new TestDevice())
        {
            await client.RegisterAsync(device);
        }

        await first.DisposeAsync();
        (RelayServer second, RelayTestClient again) = await StartAsync(store);
        await using RelayServer _ = second;
        using (var device = new TestDevice())
        {
            Assert.Equal(HttpStatusCode.Created, (await again.RegisterAsync(device)).Status);
        }

        RelayAuditTrail trail = second.Services.GetRequiredService<RelayAuditTrail>();
        Assert.Equal(instance, trail.InstanceId);
        Assert.Equal(key, trail.SigningKey.ToArray());
        Assert.Equal([0L, 1L], await trail.ReadAllAsync().Select(r => r.Sequence).ToListAsync());
        Assert.True((await trail.VerifyAsync()).IsValid);
        var options = new RelayOptions();
        store(options);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(options.ResolvedAuditKeyPath));
        }
    }

    private protected async Task<(RelayServer Server, RelayTestClient Client)> StartAsync(Action<RelayOptions> store, Action<RelayOptions>? configure = null)
    {
        RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = Clock;
            // The tests purge themselves; the periodic purge must not fire as the clock moves.
            o.PurgeInterval = Timeout.InfiniteTimeSpan;
            configure?.Invoke(o);
        });
        var client = new RelayTestClient(server.BaseAddress, Clock);
        _clients.Add(client);
        return (server, client);
    }

    private static string Line(AuditAction action, AuditOutcome outcome, UserId actor, long? count, params string[] subjects) =>
        $"{action} {outcome} {actor} {count} [{string.Join(", ", subjects)}]";

    // The scenario suite's prekey upload, reached through a derived type so that it is written once.
    private abstract class Scenario : RelayScenarioTests
    {
        private Scenario()
            : base(null!)
        {
        }

        public static new Task<RelayResponse> UploadPrekeysAsync(RelayTestClient client, TestDevice device, int oneTimeCount, int kemCount, TestDevice? targetDevice = null) =>
            RelayScenarioTests.UploadPrekeysAsync(client, device, oneTimeCount, kemCount, targetDevice);
    }
}

public sealed class SqliteRelayAuditTests(SqliteStoreTarget target) : RelayAuditTests(target), IClassFixture<SqliteStoreTarget>;
