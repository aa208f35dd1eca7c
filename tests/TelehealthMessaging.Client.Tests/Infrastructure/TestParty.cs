using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>A client with its store and recorded events.</summary>
public sealed class TestParty : IAsyncDisposable
{
    private TestParty(TelehealthClient client, IDeviceStore store)
    {
        Client = client;
        Store = store;
        Events = new EventRecorder(client);
    }

    public TelehealthClient Client { get; }

    public IDeviceStore Store { get; }

    public EventRecorder Events { get; }

    public static TestParty Create(Uri relay, UserId user, ParticipantRole role, ClinicId? clinic = null, IDeviceStore? store = null, TimeProvider? time = null, DeviceId? device = null, CapturedLogs? logs = null, TimeSpan? retention = null)
    {
        store ??= new InMemoryDeviceStore();
        var options = new TelehealthClientOptions
        {
            RelayEndpoint = relay,
            User = user,
            Role = role,
            Clinic = clinic,
            Store = store,
            Device = device,
            TimeProvider = time ?? TimeProvider.System,
            LoggerFactory = logs ?? new CapturedLogs(),
            RetentionPeriod = retention,
            OutboxBaseRetryDelay = TimeSpan.FromMilliseconds(20),
            OutboxMaxRetryDelay = TimeSpan.FromMilliseconds(200),
        };
        return new TestParty(new TelehealthClient(options), store);
    }

    public static IntakeAnswers ChestPainIntake(string chiefComplaint = "Chest tightness since this morning", string givenName = "Minji")
    {
        var intake = new TelehealthIntakeBuilder
        {
            GivenName = givenName,
            FamilyName = "Kim",
            BirthDate = new DateOnly(1990, 2, 3),
            Sex = AdministrativeSex.Female,
            Phone = "+82 10-1234-5678",
            PreferredLanguage = "ko",
            ChiefComplaint = chiefComplaint,
            HasAllergies = false,
            TakesMedications = false,
            Pregnancy = PregnancyStatus.NotPregnant,
            ConsentToTelehealth = true,
            ConsentToDataProcessing = true,
        };
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ChestPain, severity: 6) { Duration = SymptomDuration.Hours(5) });
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ShortnessOfBreath, severity: 5));
        return intake.ToAnswers();
    }

    public async Task GrantIntakeConsentsAsync()
    {
        await Client.Compliance.GrantConsentAsync(ConsentPurpose.TelehealthTreatment, "2026-11");
        await Client.Compliance.GrantConsentAsync(ConsentPurpose.HealthDataProcessing, "2026-11");
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
