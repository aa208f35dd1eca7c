using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

public sealed class ConsentLedgerTests(FhirValidation fhir) : IClassFixture<FhirValidation>, IDisposable
{
    private readonly InMemoryDataStore _store = new();
    private readonly FakeTimeProvider _clock = Clock();
    private readonly ConsentLedger _ledger = new(new InMemoryDataStore(), Clock());

    public void Dispose() => _ledger.Dispose();

    [Fact]
    public async Task Intake_is_refused_without_both_consents_and_names_only_the_missing_purpose()
    {
        using var ledger = new ConsentLedger(_store, _clock);
        IntakeConsentRequirement requirement = IntakeConsentRequirement.HealthIntake;
        Assert.Equal([ConsentPurpose.TelehealthTreatment, ConsentPurpose.HealthDataProcessing], requirement.Purposes);

        var none = await Assert.ThrowsAsync<ConsentRequiredException>(() => requirement.EnsureGrantedAsync(ledger, Patient));
        Assert.Equal([ConsentPurpose.TelehealthTreatment, ConsentPurpose.HealthDataProcessing], none.MissingPurposes);

        await ledger.GrantAsync(Patient, ConsentPurpose.TelehealthTreatment, "2026-01");
        var one = await Assert.ThrowsAsync<ConsentRequiredException>(() => requirement.EnsureGrantedAsync(ledger, Patient));
        Assert.Equal(TelehealthErrorCode.ConsentRequired, one.ErrorCode);
        Assert.Equal([ConsentPurpose.HealthDataProcessing], one.MissingPurposes);
        Assert.Contains(nameof(ConsentPurpose.HealthDataProcessing), one.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(ConsentPurpose.TelehealthTreatment), one.Message, StringComparison.Ordinal);

        await ledger.GrantAsync(Patient, ConsentPurpose.HealthDataProcessing, "2026-01");
        await requirement.EnsureGrantedAsync(ledger, Patient);
    }

    [Fact]
    public async Task Withdrawal_stops_further_processing_and_keeps_the_grant_in_the_history()
    {
        using var ledger = new ConsentLedger(_store, _clock);
        ConsentRecord grant = await ledger.GrantAsync(Patient, ConsentPurpose.HealthDataProcessing, "2026-01");
        _clock.Advance(TimeSpan.FromDays(3));

        ConsentRecord? withdrawn = await ledger.WithdrawAsync(Patient, ConsentPurpose.HealthDataProcessing);

        Assert.False(await ledger.IsGrantedAsync(Patient, ConsentPurpose.HealthDataProcessing));
        await Assert.ThrowsAsync<ConsentRequiredException>(() => ledger.RequireAsync(Patient, [ConsentPurpose.HealthDataProcessing]));
        Assert.Equal(grant.Id, withdrawn!.Id);
        ConsentRecord kept = Assert.Single(await ledger.GetHistoryAsync(Patient));
        Assert.Equal((grant.Id, Start, Start.AddDays(3), false), (kept.Id, kept.GrantedAt, kept.WithdrawnAt, kept.IsActive));

        _clock.Advance(TimeSpan.FromDays(1));
        ConsentRecord again = await ledger.GrantAsync(Patient, ConsentPurpose.HealthDataProcessing, "2026-01");
        Assert.NotEqual(grant.Id, again.Id);
        Assert.Equal([false, true], (await ledger.GetHistoryAsync(Patient)).Select(r => r.IsActive));
        Assert.Null(await ledger.WithdrawAsync(Patient, ConsentPurpose.Research));
    }

    [Fact]
    public async Task Granting_is_idempotent_and_a_new_notice_version_supersedes_the_old_grant()
    {
        using var ledger = new ConsentLedger(_store, _clock);
        ConsentRecord first = await ledger.GrantAsync(Patient, ConsentPurpose.TelehealthTreatment, "2026-01");
        Assert.Equal(first.Id, (await ledger.GrantAsync(Patient, ConsentPurpose.TelehealthTreatment, "2026-01")).Id);

        _clock.Advance(TimeSpan.FromHours(1));
        ConsentRecord second = await ledger.GrantAsync(Patient, ConsentPurpose.TelehealthTreatment, "2026-07");

        IReadOnlyList<ConsentRecord> history = await ledger.GetHistoryAsync(Patient);
        Assert.Equal([("2026-01", (DateTimeOffset?)Start.AddHours(1)), ("2026-07", null)], history.Select(r => (r.NoticeVersion, r.WithdrawnAt)));
        Assert.Equal(second.Id, history[1].Id);
    }

    [Fact]
    public async Task The_ledger_persists_per_user_in_its_own_scope()
    {
        using (var ledger = new ConsentLedger(_store, _clock))
        {
            await ledger.GrantAsync(Patient, ConsentPurpose.Research, "v1");
        }

        using var reopened = new ConsentLedger(_store, _clock);
        Assert.True(await reopened.IsGrantedAsync(Patient, ConsentPurpose.Research));
        Assert.False(await reopened.IsGrantedAsync(new UserId("patient-2"), ConsentPurpose.Research));
        Assert.Equal([ConsentLedger.Scope], await _store.ListScopesAsync());

        await _store.EraseScopeAsync("c/conv-1"); // erasing a conversation leaves consents alone
        Assert.True(await reopened.IsGrantedAsync(Patient, ConsentPurpose.Research));
    }

    [Fact]
    public async Task Grants_and_withdrawals_are_audited_with_their_purpose_and_the_chain_verifies()
    {
        (AuditSigner signer, Ed25519PrivateKey key) = NewSigner();
        using (key)
        {
            using AuditLog log = NewLog(_store, signer, _clock);
            using var ledger = new ConsentLedger(_store, _clock, log);
            ConsentRecord grant = await ledger.GrantAsync(Patient, ConsentPurpose.CrossBorderTransfer, "2026-01");
            await ledger.GrantAsync(Patient, ConsentPurpose.CrossBorderTransfer, "2026-01"); // idempotent: not audited again
            await ledger.WithdrawAsync(Patient, ConsentPurpose.CrossBorderTransfer);
            await ledger.WithdrawAsync(Patient, ConsentPurpose.CrossBorderTransfer); // nothing in force: not audited

            List<AuditRecord> records = await log.ReadAllAsync().ToListAsync();
            Assert.Equal([AuditAction.ConsentGranted, AuditAction.ConsentWithdrawn], records.Select(r => r.Action));
            Assert.All(records, r => Assert.Equal(AuditCode.Of(ConsentPurpose.CrossBorderTransfer), r.Code));
            Assert.All(records, r => Assert.Equal([AuditSubject.Of(Patient), AuditSubject.Of(grant)], r.Subjects));
            Assert.True((await log.VerifyAsync()).IsValid);
        }
    }

    [Fact]
    public async Task Bad_input_is_refused_and_changes_nothing()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.GrantAsync(Patient, ConsentPurpose.Research, "notice 1"));
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.GrantAsync(Patient, ConsentPurpose.Research, ""));
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.GrantAsync(Patient, ConsentPurpose.Research, new string('v', 33)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.GrantAsync(Patient, (ConsentPurpose)0, "v1"));
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.GrantAsync(default, ConsentPurpose.Research, "v1"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.RequireAsync(Patient, [(ConsentPurpose)9]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntakeConsentRequirement([(ConsentPurpose)9]));
        Assert.Empty(await _ledger.GetHistoryAsync(Patient));
    }

    [Fact]
    public async Task An_active_consent_exports_as_valid_fhir_with_scope_category_patient_policy_and_permit()
    {
        using var ledger = new ConsentLedger(_store, _clock);
        ConsentRecord record = await ledger.GrantAsync(Patient, ConsentPurpose.HealthDataProcessing, "2026-01");

        string json = FhirExport.ToConsent(record);

        fhir.AssertValid(json);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal(record.Id, root.GetProperty("id").GetString());
        Assert.Equal("active", root.GetProperty("status").GetString());
        Assert.Equal("patient-privacy", root.GetProperty("scope").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("health-data-processing", root.GetProperty("category")[1].GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("patient").GetProperty("reference").GetString());
        Assert.Equal("2026-11-26T06:00:00Z", root.GetProperty("dateTime").GetString());
        Assert.EndsWith("/health-data-processing/2026-01", root.GetProperty("policy")[0].GetProperty("uri").GetString(), StringComparison.Ordinal);
        JsonElement provision = root.GetProperty("provision");
        Assert.Equal("permit", provision.GetProperty("type").GetString());
        Assert.False(provision.GetProperty("period").TryGetProperty("end", out _));
        Assert.False(provision.TryGetProperty("provision", out _));
    }

    [Fact]
    public async Task A_withdrawn_consent_exports_as_valid_fhir_that_permits_until_and_denies_from_the_withdrawal()
    {
        using var ledger = new ConsentLedger(_store, _clock);
        await ledger.GrantAsync(Patient, ConsentPurpose.Research, "2026-01");
        _clock.Advance(TimeSpan.FromDays(10));
        ConsentRecord withdrawn = (await ledger.WithdrawAsync(Patient, ConsentPurpose.Research))!;

        string json = FhirExport.ToConsent(withdrawn);

        fhir.AssertValid(json);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement provision = doc.RootElement.GetProperty("provision");
        Assert.Equal("inactive", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal("2026-12-06T06:00:00Z", provision.GetProperty("period").GetProperty("end").GetString());
        JsonElement deny = provision.GetProperty("provision")[0];
        Assert.Equal("deny", deny.GetProperty("type").GetString());
        Assert.Equal("2026-12-06T06:00:00Z", deny.GetProperty("period").GetProperty("start").GetString());
    }
}
