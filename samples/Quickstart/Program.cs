// Quickstart: the whole TelehealthMessaging story on one machine.
//
//   dotnet run --project samples/Quickstart                              the real relay in this process, SQLite in a temp folder
//   dotnet run --project samples/Quickstart -- --relay ws://127.0.0.1:5080   an external relay instead
//
// A patient fills the built-in intake on her phone; both clinicians of "seoul-clinic" see it arrive, one claims and
// reads it; they message both ways with delivered/read receipts; the patient asks for a callback and the clinician
// runs it to the end. Everything travels end-to-end encrypted: the right-hand column shows what the relay stored
// meanwhile (counts and sizes are all it can know), and the last step searches the relay's files for every piece of
// plaintext in the story.
using Microsoft.Extensions.Logging;
using TelehealthMessaging;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Quickstart;
using TelehealthMessaging.Relay;

if (!TryParseRelay(args, out Uri? externalRelay))
{
    Console.Error.WriteLine("Usage: Quickstart [--relay <http(s)://… | ws(s)://…>]");
    return 2;
}

TimeProvider clock = TimeProvider.System;
var clinic = new ClinicId("seoul-clinic");
string relayFolder = Path.Combine(Path.GetTempPath(), "telehealth-quickstart-" + Guid.NewGuid().ToString("N"));
RelayStorageTally? relayTally = externalRelay is null ? new RelayStorageTally() : null;
var transcript = new Transcript(relayTally);
EmbeddedRelay? relay = null;
var parties = new List<Party>();
try
{
    // 1. The relay. Embedded, it is the same server as `dotnet run --project src/TelehealthMessaging.Relay`, listening
    //    on a free port of 127.0.0.1 and keeping its SQLite database in a temporary folder.
    Uri endpoint;
    if (externalRelay is null)
    {
        relay = await EmbeddedRelay.StartAsync(
            o => o.DataDirectory = relayFolder,
            configureLogging: logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(relayTally!));
        endpoint = new UriBuilder(relay.BaseAddress) { Scheme = "ws" }.Uri; // ws:// = WebSocket push, http:// = polling
        Transcript.Heading($"Relay on {relay.BaseAddress} (SQLite in {relayFolder})");
    }
    else
    {
        endpoint = externalRelay;
        Transcript.Heading($"Relay at {endpoint} (external: what it stores is not visible from here)");
    }

    // 2. Three devices: the patient's phone and one device per clinician of the clinic. The first StartAsync creates
    //    the device's keys, registers it with the relay and publishes its prekeys; clinicians join the clinic roster.
    Party patient = Add(Party.Create(endpoint, new UserId("patient-42"), ParticipantRole.Patient, "phone"));
    Party drKim = Add(Party.Create(endpoint, new UserId("dr-kim"), ParticipantRole.Clinician, "desktop", clinic));
    Party drLee = Add(Party.Create(endpoint, new UserId("dr-lee"), ParticipantRole.Clinician, "tablet", clinic));
    await Task.WhenAll(parties.Select(p => p.Client.StartAsync()));
    transcript.Columns();
    foreach (Party party in parties)
    {
        transcript.Say(party, $"device {party.Client.Device} registered{(party.Client.Clinic is null ? "" : $", triages for {clinic}")}");
    }

    // 3. Intake. The patient fills the built-in form without knowing any linkId; red flags are checked on the phone
    //    before anything is sent, so emergency advice never waits for a clinician.
    Transcript.Heading("Intake");
    var intake = new TelehealthIntakeBuilder
    {
        GivenName = "Minji",
        FamilyName = "Kim",
        BirthDate = new DateOnly(1990, 2, 3),
        Sex = AdministrativeSex.Female,
        Phone = "+82 10-1234-5678",
        PreferredLanguage = "ko",
        ChiefComplaint = "Chest tightness since this morning",
        HasAllergies = false,
        TakesMedications = false,
        Pregnancy = PregnancyStatus.NotPregnant,
        ConsentToTelehealth = true,
        ConsentToDataProcessing = true,
    };
    intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ChestPain, severity: 6) { Duration = SymptomDuration.Hours(5) });
    intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ShortnessOfBreath, severity: 5));
    IntakeAnswers answers = intake.ToAnswers();
    IntakeValidationResult validation = patient.Client.Intake.Validate(answers);
    transcript.Say(patient, $"fills the built-in intake: {(validation.IsValid ? "valid" : $"{validation.Problems.Count} problems")}, {intake.Symptoms.Count} symptoms");
    if (patient.Client.Intake.CheckRedFlags(answers) is EmergencyAdvice advice)
    {
        transcript.Say(patient, $"RED FLAG ({string.Join(", ", advice.TriggeredRuleIds)}): shown at once on the phone:");
        Transcript.Note($"\"{advice.Message}\"");
    }

    // The intake needs two separate consents (treatment, and processing of health data): recorded and audited.
    await patient.Client.Compliance.GrantConsentAsync(ConsentPurpose.TelehealthTreatment, noticeVersion: "2026-11");
    await patient.Client.Compliance.GrantConsentAsync(ConsentPurpose.HealthDataProcessing, noticeVersion: "2026-11");
    transcript.Say(patient, "grants consent to telehealth treatment and, separately, to processing of health data (notice 2026-11)");
    IntakeSubmissionResult submitted = await patient.Client.Intake.SubmitAsync(clinic, answers);
    transcript.Say(patient, $"submits intake {submitted.Submission.Id} to {clinic}");

    // 4. Every triage device of the clinic gets it; the first claim wins and everyone learns who holds it.
    foreach (Party clinician in new[] { drKim, drLee })
    {
        IntakeReceivedEvent received = await clinician.WaitForAsync<IntakeReceivedEvent>(e => e.Item.SubmissionId == submitted.Submission.Id);
        transcript.Say(clinician, $"inbox: new intake from {received.Item.Patient}, red flags [{string.Join(", ", received.Item.RedFlagRuleIds)}]");
    }

    ClaimResult kimClaim = await drKim.Client.Intake.ClaimAsync(submitted.Submission.Id);
    transcript.Say(drKim, ClaimOutcome("claims the intake", kimClaim));
    ClaimResult leeClaim = await drLee.Client.Intake.ClaimAsync(submitted.Submission.Id);
    transcript.Say(drLee, ClaimOutcome("claims the intake", leeClaim));
    Party doctor = kimClaim.IsOwn ? drKim : drLee;

    // 5. The clinician reads the intake as typed answers (no JSON in sight) and as a FHIR R4 QuestionnaireResponse.
    IntakeSubmission submission = await doctor.Client.Intake.GetSubmissionAsync(submitted.Submission.Id);
    IntakeAnswerReader read = submission.Answers;
    transcript.Say(doctor, $"reads: {read.GetString(TelehealthIntake.LinkIds.GivenName)} {read.GetString(TelehealthIntake.LinkIds.FamilyName)}, born {read.GetDate(TelehealthIntake.LinkIds.BirthDate):yyyy-MM-dd}, \"{read.GetString(TelehealthIntake.LinkIds.ChiefComplaint)}\"");
    foreach (IntakeAnswerReader symptom in read.GetGroupInstances(TelehealthIntake.LinkIds.Symptoms))
    {
        Transcript.Note($"symptom {symptom.GetCoding(TelehealthIntake.LinkIds.SymptomCode)?.Display}, severity {symptom.GetInteger(TelehealthIntake.LinkIds.SymptomSeverity)}/10");
    }

    string questionnaireResponse = await doctor.Client.Intake.GetQuestionnaireResponseAsync(submitted.Submission.Id);
    transcript.Say(doctor, $"exports it as FHIR R4 QuestionnaireResponse ({questionnaireResponse.Length:N0} characters)");

    // 6. Messages both ways, each with delivered and read receipts. The conversation belongs to the clinic, so the
    //    other clinician's device receives it too.
    Transcript.Heading("Messages");
    ConversationId conversation = submitted.ConversationId;
    ConversationMessage question = await doctor.Client.Messages.SendTextAsync(conversation, "How long has the tightness lasted?");
    transcript.Say(doctor, $"sends \"{Text(question)}\"");
    await patient.WaitForAsync<MessageReceivedEvent>(e => e.Message.Id == question.Id);
    transcript.Say(patient, $"receives \"{Text(question)}\" from {question.Message.Sender.Id}");
    await doctor.WaitForAsync<MessageStatusChangedEvent>(e => e.MessageId == question.Id && e.Status == MessageStatus.Delivered);
    transcript.Say(doctor, "sees the question Delivered");
    await patient.Client.Messages.MarkReadAsync(conversation, [question.Id]);
    await doctor.WaitForAsync<MessageStatusChangedEvent>(e => e.MessageId == question.Id && e.Status == MessageStatus.Read);
    transcript.Say(doctor, "sees the question Read");

    ConversationMessage reply = await patient.Client.Messages.SendTextAsync(conversation, "About five hours, worse on the stairs.");
    transcript.Say(patient, $"replies \"{Text(reply)}\"");
    foreach (Party clinician in new[] { drKim, drLee })
    {
        await clinician.WaitForAsync<MessageReceivedEvent>(e => e.Message.Id == reply.Id);
        transcript.Say(clinician, $"receives \"{Text(reply)}\"");
    }

    await patient.WaitForAsync<MessageStatusChangedEvent>(e => e.MessageId == reply.Id && e.Status == MessageStatus.Delivered);
    transcript.Say(patient, "sees the reply Delivered");
    await doctor.Client.Messages.MarkReadAsync(conversation, [reply.Id]);
    await patient.WaitForAsync<MessageStatusChangedEvent>(e => e.MessageId == reply.Id && e.Status == MessageStatus.Read);
    transcript.Say(patient, "sees the reply Read");

    // 7. The callback lifecycle: requested by the patient, accepted (first accept wins) and run by one clinician; the
    //    patient's phone follows every state change.
    Transcript.Heading("Callback");
    DateTimeOffset now = clock.GetUtcNow();
    CallbackRequest callback = await patient.Client.Callbacks.RequestAsync(
        clinic,
        "Please call me about the chest tightness",
        "+82 10-1234-5678",
        [new CallbackWindow(now.AddMinutes(10), now.AddHours(2))],
        priority: submitted.EmergencyAdvice is null ? CallbackPriority.Routine : CallbackPriority.Stat, // the red flag makes it urgent
        linkedIntake: submitted.Submission.Id);
    transcript.Say(patient, $"requests callback {callback.Id} ({callback.Priority} priority, linked to the intake)");
    foreach (Party clinician in new[] { drKim, drLee })
    {
        await clinician.WaitForAsync<CallbackChangedEvent>(e => e.Request.Id == callback.Id);
        transcript.Say(clinician, $"sees callback {callback.Id}: {CallbackState.Requested}");
    }

    ClaimResult accepted = await doctor.Client.Callbacks.AcceptAsync(callback.Id);
    transcript.Say(doctor, ClaimOutcome("accepts the callback", accepted));
    Party other = doctor == drKim ? drLee : drKim;
    ClaimResult refused = await other.Client.Callbacks.AcceptAsync(callback.Id);
    transcript.Say(other, ClaimOutcome("accepts the callback", refused));
    await FollowAsync(CallbackState.Accepted);

    await doctor.Client.Callbacks.ScheduleAsync(callback.Id, new CallbackWindow(now.AddMinutes(15), now.AddMinutes(30)));
    transcript.Say(doctor, "schedules it in the patient's window");
    await FollowAsync(CallbackState.Scheduled);
    await doctor.Client.Callbacks.StartAsync(callback.Id);
    transcript.Say(doctor, "calls the patient");
    await FollowAsync(CallbackState.InProgress);
    await doctor.Client.Callbacks.CompleteAsync(callback.Id, "Advised to attend the emergency department now");
    transcript.Say(doctor, "completes the callback with a note");
    await FollowAsync(CallbackState.Completed);

    HistoryPage history = await patient.Client.Conversations.GetHistoryAsync(conversation);
    transcript.Say(patient, $"local history of the conversation: {history.Messages.Count} items");

    async Task FollowAsync(CallbackState state)
    {
        CallbackChangedEvent changed = await patient.WaitForAsync<CallbackChangedEvent>(e => e.Request.Id == callback.Id && e.Request.State == state);
        transcript.Say(patient, $"callback is now {changed.Request.State}{(changed.Request.AssignedClinician is Participant by ? $" (by {by.Id})" : "")}");
    }
}
finally
{
    foreach (Party party in parties)
    {
        await party.DisposeAsync();
    }

    if (relay is not null)
    {
        await relay.DisposeAsync();
    }
}

// 8. What the relay kept: every plaintext string of the story is searched for in its database and blob files.
int exitCode = 0;
if (relayTally is not null)
{
    Transcript.Heading("What the relay stored");
    Console.WriteLine($"In total: {relayTally.Current}.");
    string[] plaintext =
    [
        "Minji", "Chest tightness since this morning", "+82 10-1234-5678", "+821012345678", "1990-02-03",
        "How long has the tightness lasted?", "About five hours, worse on the stairs.",
        "Please call me about the chest tightness", "Advised to attend the emergency department now",
    ];
    PlaintextScan.ScanResult scan = PlaintextScan.Run(relayFolder, plaintext);
    Console.WriteLine($"Scanned {scan.Files.Count} files ({string.Join(", ", scan.Files)}; {scan.Bytes:N0} bytes) for {plaintext.Length} plaintext strings of this transcript:");
    foreach ((string file, string secret) in scan.Found)
    {
        Console.WriteLine($"  FOUND \"{secret}\" in {file}");
    }

    Console.WriteLine(scan.Found.Count == 0 ? "  none found: the relay only ever held ciphertext." : "  the relay stored plaintext!");
    exitCode = scan.Found.Count == 0 ? 0 : 1;
}

if (Directory.Exists(relayFolder))
{
    Directory.Delete(relayFolder, recursive: true);
}

return exitCode;

Party Add(Party party)
{
    parties.Add(party);
    return party;
}

static string ClaimOutcome(string action, ClaimResult claim) =>
    claim.IsOwn ? $"{action}: claim won" : $"{action}: refused, already claimed by {claim.ClaimedBy}";

static string Text(ConversationMessage message) => ((TextContent)message.Message.Content).Text;

static bool TryParseRelay(string[] args, out Uri? relay)
{
    relay = null;
    return args switch
    {
        [] => true,
        ["--relay", string value] => Uri.TryCreate(value, UriKind.Absolute, out relay) && relay.Scheme is "http" or "https" or "ws" or "wss",
        _ => false,
    };
}
