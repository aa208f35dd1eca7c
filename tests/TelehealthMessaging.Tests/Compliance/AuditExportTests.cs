using System.Text;
using System.Text.Json;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Tests.Callbacks;
using TelehealthMessaging.Tests.Infrastructure;
using TelehealthMessaging.Tests.Messaging;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

public sealed class AuditExportTests(FhirValidation fhir) : IClassFixture<FhirValidation>, IDisposable
{
    private readonly (AuditSigner Signer, Ed25519PrivateKey Key) _signer = NewSigner();

    public void Dispose() => _signer.Key.Dispose();

    [Fact]
    public async Task Records_of_every_action_built_from_canary_flows_hold_no_canary_in_storage_text_or_fhir()
    {
        var store = new InMemoryDataStore();
        var clock = Clock();
        using AuditLog log = NewLog(store, _signer.Signer, clock);

        // Real flows full of health data: an intake, messages of every content type, a callback, consents.
        IntakeSubmission intake = CanarySubmission(clock);
        List<SecureMessage> messages = MessageFixtures.OnePerContentType().Select(m => m.Message).ToList();
        CallbackRequest callback = CallbackFixtures.InState(CallbackState.Completed, CallbackFixtures.Clock());
        using var ledger = new ConsentLedger(store, clock, log);
        await ledger.GrantAsync(Patient, ConsentPurpose.TelehealthTreatment, "2026-01");
        await ledger.GrantAsync(Patient, ConsentPurpose.HealthDataProcessing, "2026-01");
        await ledger.WithdrawAsync(Patient, ConsentPurpose.HealthDataProcessing);

        var entries = new List<AuditEntry>();
        foreach (AuditAction action in Enum.GetValues<AuditAction>())
        {
            entries.AddRange(action switch
            {
                AuditAction.DeviceRegistered or AuditAction.DeviceRevoked or AuditAction.IdentityKeyChanged or AuditAction.SafetyNumberVerified =>
                    [new AuditEntry(action, Patient, [AuditSubject.Of(Device), AuditSubject.Of(new UserId("clinician-1"))])],
                AuditAction.IntakeSubmitted or AuditAction.IntakeViewed or AuditAction.IntakeExported =>
                    [new AuditEntry(action, Patient, [AuditSubject.Of(intake.Id)])],
                AuditAction.MessageSent or AuditAction.MessageRead =>
                    messages.Select(m => new AuditEntry(action, Patient, [AuditSubject.Of(m.ConversationId), AuditSubject.Of(m.Id)])),
                AuditAction.CallbackTransition =>
                    callback.History.Select(t => new AuditEntry(action, Patient, [AuditSubject.Of(callback.Id)], AuditOutcome.Success, AuditCode.Of(t.Action))),
                AuditAction.ConsentGranted or AuditAction.ConsentWithdrawn => [], // appended by the ledger above
                AuditAction.DataErased or AuditAction.RetentionPurge =>
                    [new AuditEntry(action, Patient, [AuditSubject.Of(messages[0].ConversationId)])],
                AuditAction.ExportMade => [new AuditEntry(action, Patient, [AuditSubject.Of(Patient)], AuditOutcome.Denied)],
                AuditAction.StoreLocked or AuditAction.StoreUnlocked => [new AuditEntry(action, Patient)],
                AuditAction.ClinicJoined or AuditAction.ClinicLeft or AuditAction.WorkItemClaimed or AuditAction.PrekeyBundleClaimed =>
                    [new AuditEntry(action, Patient, [AuditSubject.Of(new ClinicId("clinic-1")), AuditSubject.Of(Device)])],
                _ => throw new ArgumentOutOfRangeException(nameof(action)),
            });
        }

        foreach (AuditEntry entry in entries)
        {
            await log.AppendAsync(entry);
        }

        List<AuditRecord> records = await log.ReadAllAsync().ToListAsync();
        Assert.Equal(Enum.GetValues<AuditAction>().ToHashSet(), records.Select(r => r.Action).ToHashSet());

        var haystack = new StringBuilder();
        foreach (string collection in new[] { "records", "checkpoints", "head" })
        {
            foreach (string name in await store.ListAsync(AuditLog.Scope, collection))
            {
                byte[] bytes = (await store.GetAsync(new DataRecordKey(AuditLog.Scope, collection, name)))!;
                haystack.Append(Encoding.UTF8.GetString(bytes)).Append(Encoding.Latin1.GetString(bytes));
            }
        }

        records.ForEach(r => haystack.Append(r).Append(r.Entry));
        string bundle = FhirExport.ToAuditEventBundle(records);
        haystack.Append(bundle);

        string text = haystack.ToString();
        string[] canaries =
        [
            GivenNameCanary, FamilyNameCanary, PhoneCanary, "1055501234", ResidentNumberCanary, "8407192345678", ComplaintCanary, "1984-07-19",
            CallbackFixtures.ReasonCanary, CallbackFixtures.PhoneCanaryDigits, MessageFixtures.TextCanary, MessageFixtures.FileNameCanary,
            MessageFixtures.AnswerCanary, "CANARY", "Not our service", "Feeling better",
        ];
        foreach (string canary in canaries)
        {
            Assert.DoesNotContain(canary, text, StringComparison.OrdinalIgnoreCase);
        }

        fhir.AssertValid(bundle);
    }

    [Fact]
    public async Task Every_action_and_outcome_exports_a_valid_audit_event_with_its_codes()
    {
        using AuditLog log = NewLog(new InMemoryDataStore(), _signer.Signer, Clock());
        var records = new List<AuditRecord>();
        foreach (AuditAction action in Enum.GetValues<AuditAction>())
        {
            AuditCode? code = AuditEntry.ExpectedCodeKind(action) switch
            {
                AuditCodeKind.CallbackAction => AuditCode.Of(CallbackAction.Schedule),
                AuditCodeKind.ConsentPurpose => AuditCode.Of(ConsentPurpose.CrossBorderTransfer),
                _ => null,
            };
            AuditOutcome outcome = (AuditOutcome)((int)action % 3);
            records.Add(await log.AppendAsync(new AuditEntry(action, Patient, [AuditSubject.Of(new IntakeSubmissionId("intake-1")), AuditSubject.Of(Patient)], outcome, code)));
        }

        foreach (AuditRecord record in records)
        {
            string json = FhirExport.ToAuditEvent(record);
            fhir.AssertValid(json);
        }

        using JsonDocument bundle = JsonDocument.Parse(FhirExport.ToAuditEventBundle(records));
        fhir.AssertValid(bundle.RootElement.GetRawText());
        Assert.Equal("collection", bundle.RootElement.GetProperty("type").GetString());
        JsonElement[] events = bundle.RootElement.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).ToArray();
        Assert.Equal(records.Count, events.Length);

        JsonElement transition = events[(int)AuditAction.CallbackTransition - 1];
        Assert.Equal("110110", transition.GetProperty("type").GetProperty("code").GetString());
        Assert.Equal("U", transition.GetProperty("action").GetString());
        Assert.Equal("schedule", transition.GetProperty("subtype")[0].GetProperty("code").GetString());
        Assert.Equal(FhirExport.CallbackActionSystem, transition.GetProperty("subtype")[0].GetProperty("system").GetString());

        JsonElement locked = events[(int)AuditAction.StoreLocked - 1];
        Assert.Equal(("110114", "110123", "E"), (locked.GetProperty("type").GetProperty("code").GetString(), locked.GetProperty("subtype")[0].GetProperty("code").GetString(), locked.GetProperty("action").GetString()));

        JsonElement erased = events[(int)AuditAction.DataErased - 1];
        Assert.Equal("D", erased.GetProperty("action").GetString());
        Assert.Equal("2026-11-26T06:00:00Z", erased.GetProperty("recorded").GetString());
        Assert.Equal("QuestionnaireResponse/intake-1", erased.GetProperty("entity")[0].GetProperty("what").GetProperty("reference").GetString());
        Assert.Equal("patient-1", erased.GetProperty("entity")[1].GetProperty("what").GetProperty("identifier").GetProperty("value").GetString());
        Assert.Equal("patient-1", erased.GetProperty("agent")[0].GetProperty("who").GetProperty("identifier").GetProperty("value").GetString());
        Assert.True(erased.GetProperty("agent")[0].GetProperty("requestor").GetBoolean());
        Assert.Equal("Device/device-1", erased.GetProperty("source").GetProperty("observer").GetProperty("reference").GetString());

        Assert.Equal(["0", "4", "8"], events.Take(3).Select(e => e.GetProperty("outcome").GetString()).OrderBy(s => s, StringComparer.Ordinal));
        Assert.Equal(records.Count, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public void An_empty_bundle_is_valid()
    {
        fhir.AssertValid(FhirExport.ToAuditEventBundle([]));
    }
}
