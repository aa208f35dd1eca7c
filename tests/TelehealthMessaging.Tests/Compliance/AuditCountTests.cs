using System.Text.Json;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

// The count an entry may carry (the relay's purges and exports) and the audit actions the relay records.
public sealed class AuditCountTests(FhirValidation fhir) : IClassFixture<FhirValidation>, IDisposable
{
    private static readonly DeviceId Relay = new("relay-1");
    private static readonly UserId RelayActor = new("relay-1");

    private readonly (AuditSigner Signer, Ed25519PrivateKey Key) _signer = NewSigner();

    public void Dispose() => _signer.Key.Dispose();

    [Fact]
    public void A_record_without_a_count_keeps_the_version_1_encoding_and_one_with_a_count_is_version_2()
    {
        var entry = new AuditEntry(AuditAction.RetentionPurge, RelayActor);
        var counted = new AuditEntry(AuditAction.RetentionPurge, RelayActor) { Count = 42 };

        (byte[] plain, _) = AuditEncoding.EncodeRecord(0, Start, Relay, entry, AuditEncoding.GenesisHash);
        (byte[] withCount, _) = AuditEncoding.EncodeRecord(0, Start, Relay, counted, AuditEncoding.GenesisHash);

        Assert.Equal(1, plain[AuditEncoding.HashSize]);
        Assert.Equal(2, withCount[AuditEncoding.HashSize]);
        Assert.Equal(plain.Length + 8, withCount.Length);
        Assert.Equal(plain[(AuditEncoding.HashSize + 1)..^AuditEncoding.HashSize], withCount[(AuditEncoding.HashSize + 1)..^(AuditEncoding.HashSize + 8)]);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 42], withCount[^(AuditEncoding.HashSize + 8)..^AuditEncoding.HashSize]);
        Assert.Null(AuditEncoding.DecodeRecord(plain).Count);
        Assert.Equal(42, AuditEncoding.DecodeRecord(withCount).Count);
    }

    [Fact]
    public void A_negative_count_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AuditEntry(AuditAction.RetentionPurge, RelayActor) { Count = -1 });
    }

    [Fact]
    public async Task A_changed_count_is_detected_at_its_record()
    {
        var store = new InMemoryDataStore();
        using AuditLog log = NewLog(store, _signer.Signer, Clock());
        await log.AppendAsync(new AuditEntry(AuditAction.DeviceRegistered, Patient, [AuditSubject.Of(Device)]));
        AuditRecord purge = await log.AppendAsync(new AuditEntry(AuditAction.RetentionPurge, RelayActor) { Count = 7 });
        await log.AppendAsync(new AuditEntry(AuditAction.ExportMade, RelayActor) { Count = 2 });
        var key = new DataRecordKey(AuditLog.Scope, "records", "00000000000000000001");
        byte[] stored = (await store.GetAsync(key))!;
        stored[^(AuditEncoding.HashSize + 1)] = 8;
        await store.SetAsync(key, stored);

        AuditVerificationResult result = await log.VerifyAsync();

        Assert.Equal(7, purge.Count);
        Assert.Contains("Count = 7", purge.ToString(), StringComparison.Ordinal);
        Assert.Equal((AuditProblem.RecordModified, 1L), (result.Problem, result.FirstBadIndex!.Value));
    }

    [Fact]
    public async Task Relay_records_export_as_valid_fhir_with_the_count_and_work_item_references()
    {
        using AuditLog log = NewLog(new InMemoryDataStore(), _signer.Signer, Clock());
        var clinic = new ClinicId("clinic-1");
        var nurse = new DeviceId("nurse-device");
        AuditEntry[] entries =
        [
            new(AuditAction.DeviceRegistered, Patient, [AuditSubject.Of(Device), AuditSubject.Of(Patient)]),
            new(AuditAction.DeviceRegistered, Patient, [AuditSubject.Of(Device), AuditSubject.Of(Patient)], AuditOutcome.Denied),
            new(AuditAction.IdentityKeyChanged, Patient, [AuditSubject.Of(Device), AuditSubject.Of(Patient)], AuditOutcome.Denied),
            new(AuditAction.DeviceRevoked, Patient, [AuditSubject.Of(new DeviceId("old-phone")), AuditSubject.Of(Device)]),
            new(AuditAction.PrekeyBundleClaimed, Patient, [AuditSubject.Of(nurse), AuditSubject.Of(new UserId("nurse-1")), AuditSubject.Of(Device)]),
            new(AuditAction.ClinicJoined, new UserId("nurse-1"), [AuditSubject.Of(clinic), AuditSubject.Of(nurse)]),
            new(AuditAction.WorkItemClaimed, new UserId("nurse-1"), [AuditSubject.Of(clinic), AuditSubject.Create(AuditSubjectKind.WorkItem, "intake-1"), AuditSubject.Of(nurse)]),
            new(AuditAction.ClinicLeft, new UserId("nurse-1"), [AuditSubject.Of(clinic), AuditSubject.Of(nurse)]),
            new(AuditAction.RetentionPurge, RelayActor) { Count = 12 },
            new(AuditAction.ExportMade, RelayActor, [AuditSubject.Of(Relay)]) { Count = 9 },
        ];
        var records = new List<AuditRecord>();
        foreach (AuditEntry entry in entries)
        {
            records.Add(await log.AppendAsync(entry));
        }

        string bundle = FhirExport.ToAuditEventBundle(records);

        fhir.AssertValid(bundle);
        using JsonDocument json = JsonDocument.Parse(bundle);
        JsonElement[] events = json.RootElement.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).ToArray();
        Assert.Equal(
            ["C", "C", "U", "D", "R", "C", "U", "D", "D", "R"],
            events.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal("Task/intake-1", events[6].GetProperty("entity")[1].GetProperty("what").GetProperty("reference").GetString());
        JsonElement purgeCount = Assert.Single(events[8].GetProperty("entity").EnumerateArray()).GetProperty("detail")[0];
        Assert.Equal(("count", "12"), (purgeCount.GetProperty("type").GetString(), purgeCount.GetProperty("valueString").GetString()));
        JsonElement exportEntities = events[9].GetProperty("entity");
        Assert.Equal(2, exportEntities.GetArrayLength());
        Assert.Equal("9", exportEntities[1].GetProperty("detail")[0].GetProperty("valueString").GetString());
        Assert.Equal("4", events[2].GetProperty("outcome").GetString());
    }
}
