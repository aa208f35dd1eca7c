// PatientConsole: a patient's app in a terminal. With ClinicianConsole in a second terminal it makes one conversation:
//
//   dotnet run --project src/TelehealthMessaging.Relay       (the relay on http://127.0.0.1:5080)
//   dotnet run --project samples/PatientConsole              [--relay uri] [--user patient-42] [--clinic seoul-clinic] [--data folder]
//   dotnet run --project samples/ClinicianConsole            [--relay uri] [--user dr-kim] [--clinic seoul-clinic] [--data folder]
//
// Keys, sessions and history stay in an encrypted folder; its passphrase comes from TELEHEALTH_PASSPHRASE or a prompt.
using System.Globalization;
using TelehealthMessaging;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Samples;

const string Help = """
      intake          fill in the clinic's intake form and send it
      send <text>     write to the clinic
      callback        ask the clinic to call you back
      history         the conversation with the clinic
      quit            leave (end of input does too)
    """;

await using ConsoleSession? session = await ConsoleSession.StartAsync(args, "PatientConsole", ParticipantRole.Patient, "patient-42");
if (session is null)
{
    return 2;
}

TelehealthClient client = session.Client;
IntakeSubmissionId? lastIntake = null;
while (ConsoleSession.Prompt("> ") is string line && line is not ("quit" or "exit"))
{
    string[] words = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    try
    {
        switch (words)
        {
            case []:
                break;
            case ["intake"]:
                lastIntake = await FillInIntakeAsync() ?? lastIntake;
                break;
            case ["send", string text]:
                Conversation clinic = await client.Conversations.OpenWithClinicAsync(session.Clinic);
                ConversationMessage sent = await client.Messages.SendTextAsync(clinic.Id, text);
                Console.WriteLine($"  queued message {sent.Id}");
                break;
            case ["callback"]:
                await RequestCallbackAsync();
                break;
            case ["history"]:
                await ShowHistoryAsync();
                break;
            default:
                Console.WriteLine(Help);
                break;
        }
    }
    catch (IntakeValidationException ex)
    {
        Console.WriteLine($"  ! the intake is incomplete: {string.Join(", ", ex.Problems.Select(p => $"{p.Path} ({p.Code})"))}");
    }
    catch (Exception ex) when (ex is TelehealthException or ArgumentException)
    {
        Console.WriteLine($"  ! {ex.Message}");
    }
}

Console.WriteLine("Bye.");
return 0;

async Task<IntakeSubmissionId?> FillInIntakeAsync()
{
    var intake = new TelehealthIntakeBuilder
    {
        GivenName = Ask("Given name"),
        FamilyName = Ask("Family name"),
        BirthDate = DateOnly.TryParseExact(Ask("Birth date (yyyy-mm-dd)"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly born) ? born : null,
        Sex = Enum.TryParse(Ask("Sex (female, male, other, unknown)"), ignoreCase: true, out AdministrativeSex sex) ? sex : null,
        Phone = Ask("Phone number"),
        PreferredLanguage = "en",
        ChiefComplaint = Ask("What brings you in today"),
    };
    foreach (Coding symptom in new[] { TelehealthSymptoms.ChestPain, TelehealthSymptoms.ShortnessOfBreath, TelehealthSymptoms.Fever })
    {
        if (YesNo($"{symptom.Display}?") && int.TryParse(Ask("  how bad, 0 to 10"), CultureInfo.InvariantCulture, out int severity))
        {
            intake.Symptoms.Add(new SymptomReport(symptom, severity));
        }
    }

    intake.HasAllergies = YesNo("Any allergies?");
    if (intake.HasAllergies == true && Ask("  which") is { Length: > 0 } allergies)
    {
        intake.Allergies.Add(allergies);
    }

    intake.TakesMedications = YesNo("Taking any medication?");
    if (intake.TakesMedications == true && Ask("  which") is { Length: > 0 } medication)
    {
        intake.Medications.Add(medication);
    }

    if (intake.Sex == AdministrativeSex.Female)
    {
        intake.Pregnancy = YesNo("Pregnant?") ? PregnancyStatus.Pregnant : PregnancyStatus.NotPregnant;
    }

    intake.ConsentToTelehealth = YesNo("Do you agree to a telehealth consultation?");
    intake.ConsentToDataProcessing = YesNo("Do you agree that the clinic processes these answers?");

    // Checked on this device before anything is sent: problems are named by linkId, red flags get advice at once.
    IntakeAnswers answers = intake.ToAnswers();
    IntakeValidationResult validation = client.Intake.Validate(answers);
    if (!validation.IsValid)
    {
        Console.WriteLine($"  ! not sent, please complete: {string.Join(", ", validation.Problems.Select(p => $"{p.Path} ({p.Code})"))}");
        return null;
    }

    if (client.Intake.CheckRedFlags(answers) is EmergencyAdvice advice)
    {
        Console.WriteLine($"  !!! {advice.Message}");
    }

    // The answers above include both consents; the ledger records them (audited) before the intake may be sent.
    await client.Compliance.GrantConsentAsync(ConsentPurpose.TelehealthTreatment, noticeVersion: "2026-11");
    await client.Compliance.GrantConsentAsync(ConsentPurpose.HealthDataProcessing, noticeVersion: "2026-11");
    IntakeSubmissionResult result = await client.Intake.SubmitAsync(session.Clinic, answers);
    Console.WriteLine($"  intake {result.Submission.Id} queued for {session.Clinic}");
    return result.Submission.Id;
}

async Task RequestCallbackAsync()
{
    string reason = Ask("Reason") ?? "";
    string phone = Ask("Phone number to call") ?? "";
    DateTimeOffset now = TimeProvider.System.GetUtcNow();
    CallbackRequest request = await client.Callbacks.RequestAsync(session.Clinic, reason, phone, [new CallbackWindow(now.AddMinutes(10), now.AddHours(4))], linkedIntake: lastIntake);
    Console.WriteLine($"  callback {request.Id} requested (any time in the next 4 hours{(lastIntake is null ? "" : ", linked to your intake")})");
}

async Task ShowHistoryAsync()
{
    Conversation clinic = await client.Conversations.OpenWithClinicAsync(session.Clinic);
    HistoryPage page = await client.Conversations.GetHistoryAsync(clinic.Id, pageSize: 20);
    foreach (ConversationMessage message in page.Messages)
    {
        string who = message.IsOutgoing ? "you" : message.Message.Sender.Id.Value;
        Console.WriteLine($"  {message.Message.SentAt.ToLocalTime():g}  {who}: {ConsoleSession.Describe(message.Message.Content)}{(message.IsOutgoing ? $"  [{message.Status}]" : "")}");
    }
}

static string? Ask(string question) => ConsoleSession.Prompt($"  {question}: ");

static bool YesNo(string question) => Ask($"{question} (y/n)") is "y" or "Y" or "yes";
