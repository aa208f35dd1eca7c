using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Compliance;

internal static class ComplianceFixtures
{
    public const string GivenNameCanary = "Canarygivenname";
    public const string FamilyNameCanary = "Canaryfamilyname";
    public const string PhoneCanary = "+821055501234";
    public const string ResidentNumberCanary = "840719-2345678";
    public const string ComplaintCanary = "CANARY-COMPLAINT";

    public static readonly DateOnly BirthDateCanary = new(1984, 7, 19);
    public static readonly DateTimeOffset Start = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    public static readonly UserId Patient = new("patient-1");
    public static readonly DeviceId Device = new("device-1");

    public static FakeTimeProvider Clock() => new(Start);

    public static (AuditSigner Signer, Ed25519PrivateKey Key) NewSigner()
    {
        var key = Ed25519PrivateKey.Generate();
        return (new AuditSigner(key.PublicKey.ToArray(), message => key.Sign(message.Span)), key);
    }

    public static AuditLog NewLog(IDataStore store, AuditSigner signer, TimeProvider clock, int checkpointInterval = 100) =>
        new(store, Device, signer, clock, new AuditLogOptions { CheckpointInterval = checkpointInterval });

    // The built-in intake filled in with canaries: identifiers in the Patient-defined items, an RRN in free text.
    public static IntakeSubmission CanarySubmission(TimeProvider clock, IntakeSubmissionId? id = null)
    {
        IntakeAnswers answers = CanaryAnswers();
        return IntakeSubmission.Create(answers, Patient, clock, id);
    }

    public static IntakeAnswers CanaryAnswers()
    {
        IntakeAnswers answers = IntakeAnswers.Create(TelehealthIntake.Form);
        answers.SetString(TelehealthIntake.LinkIds.GivenName, GivenNameCanary);
        answers.SetString(TelehealthIntake.LinkIds.FamilyName, FamilyNameCanary);
        answers.SetDate(TelehealthIntake.LinkIds.BirthDate, BirthDateCanary);
        answers.SetChoice(TelehealthIntake.LinkIds.Sex, "male");
        answers.SetString(TelehealthIntake.LinkIds.Phone, PhoneCanary);
        answers.SetString(TelehealthIntake.LinkIds.ChiefComplaint, $"{ComplaintCanary}: my number is {ResidentNumberCanary}, please call");
        IntakeGroupAnswers symptom = answers.AddGroup(TelehealthIntake.LinkIds.Symptoms);
        symptom.SetCoding(TelehealthIntake.LinkIds.SymptomCode, TelehealthSymptoms.Cough);
        symptom.SetInteger(TelehealthIntake.LinkIds.SymptomSeverity, 4);
        answers.SetBoolean(TelehealthIntake.LinkIds.HasAllergies, false);
        answers.SetBoolean(TelehealthIntake.LinkIds.TakesMedications, false);
        answers.SetBoolean(TelehealthIntake.LinkIds.ConsentToTelehealth, true);
        answers.SetBoolean(TelehealthIntake.LinkIds.ConsentToDataProcessing, true);
        return answers;
    }
}

// Lets a fixed number of writes through and then fails every later one without writing: a process that died there.
internal sealed class CrashingDataStore(IDataStore inner) : IDataStore
{
    private int _writesLeft = int.MaxValue;

    public void CrashAfter(int writes) => _writesLeft = writes;

    public Task SetAsync(DataRecordKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
        Interlocked.Decrement(ref _writesLeft) < 0
            ? throw new IOException("Simulated crash.")
            : inner.SetAsync(key, value, cancellationToken);

    public Task<byte[]?> GetAsync(DataRecordKey key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public Task<bool> DeleteAsync(DataRecordKey key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public Task<IReadOnlyList<string>> ListAsync(string scope, string collection, CancellationToken cancellationToken = default) =>
        inner.ListAsync(scope, collection, cancellationToken);

    public Task<IReadOnlyList<string>> ListScopesAsync(CancellationToken cancellationToken = default) => inner.ListScopesAsync(cancellationToken);

    public Task EraseScopeAsync(string scope, CancellationToken cancellationToken = default) => inner.EraseScopeAsync(scope, cancellationToken);
}
