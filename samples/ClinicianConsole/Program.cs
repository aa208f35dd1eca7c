// ClinicianConsole: a clinician's triage desk in a terminal; see PatientConsole for the other side.
//
//   dotnet run --project src/TelehealthMessaging.Relay       (the relay on http://127.0.0.1:5080)
//   dotnet run --project samples/ClinicianConsole            [--relay uri] [--user dr-kim] [--clinic seoul-clinic] [--data folder]
//
// Keys, sessions and history stay in an encrypted folder; its passphrase comes from TELEHEALTH_PASSPHRASE or a prompt.
// Items are referred to by the numbers `inbox` prints (i1, c1, …); without one, a command takes the newest item.
using TelehealthMessaging;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Samples;

const string Help = """
      inbox                       intakes and callback requests of the clinic
      claim [iN]                  take an intake (the first claim in the clinic wins)
      read [iN]                   show an intake's answers
      reply <text>                write in the conversation of the last intake or callback you took or read
      accept [cN]                 take a callback request
      schedule [cN] <minutes>     schedule it that many minutes from now, for 15 minutes
      start [cN]                  you are calling the patient
      complete [cN] [note]        the call is done
      quit                        leave (end of input does too)
    """;

await using ConsoleSession? session = await ConsoleSession.StartAsync(args, "ClinicianConsole", ParticipantRole.Clinician, "dr-kim");
if (session is null)
{
    return 2;
}

TelehealthClient client = session.Client;
ConversationId? current = null;
while (ConsoleSession.Prompt("> ") is string line && line is not ("quit" or "exit"))
{
    string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    string rest = words.Length > 1 ? line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..].Trim() : "";
    try
    {
        switch (words)
        {
            case []:
                break;
            case ["inbox"]:
                await ShowInboxAsync();
                break;
            case ["claim", ..]:
                IntakeInboxItem toClaim = await IntakeAsync(words);
                ClaimResult claim = await client.Intake.ClaimAsync(toClaim.SubmissionId);
                Console.WriteLine(claim.IsOwn ? $"  intake {toClaim.SubmissionId} is yours" : $"  already claimed by {claim.ClaimedBy}");
                current = claim.IsOwn ? toClaim.ConversationId : current;
                break;
            case ["read", ..]:
                IntakeInboxItem toRead = await IntakeAsync(words);
                await ShowIntakeAsync(toRead);
                current = toRead.ConversationId;
                break;
            case ["reply", _, ..]:
                ConversationId conversation = current ?? throw new ArgumentException("Claim or read an intake, or accept a callback, first.");
                ConversationMessage sent = await client.Messages.SendTextAsync(conversation, rest);
                Console.WriteLine($"  queued message {sent.Id}");
                break;
            case ["accept", ..]:
                CallbackRequest toAccept = await CallbackAsync(words);
                ClaimResult accepted = await client.Callbacks.AcceptAsync(toAccept.Id);
                Console.WriteLine(accepted.IsOwn ? $"  callback {toAccept.Id} is yours" : $"  already accepted by {accepted.ClaimedBy}");
                break;
            case ["schedule", .., string minutesText] when int.TryParse(minutesText, out int minutes) && minutes >= 0:
                DateTimeOffset start = TimeProvider.System.GetUtcNow().AddMinutes(minutes);
                Show(await client.Callbacks.ScheduleAsync((await CallbackAsync(words[..^1])).Id, new CallbackWindow(start, start.AddMinutes(15))));
                break;
            case ["start", ..]:
                Show(await client.Callbacks.StartAsync((await CallbackAsync(words)).Id));
                break;
            case ["complete", ..]:
                bool named = words.Length > 1 && IsReference(words[1], 'c');
                string? note = named ? (words.Length > 2 ? string.Join(' ', words[2..]) : null) : (rest.Length > 0 ? rest : null);
                Show(await client.Callbacks.CompleteAsync((await CallbackAsync(named ? words[..2] : words[..1])).Id, note));
                break;
            default:
                Console.WriteLine(Help);
                break;
        }
    }
    catch (Exception ex) when (ex is TelehealthException or ArgumentException)
    {
        Console.WriteLine($"  ! {ex.Message}");
    }
}

Console.WriteLine("Bye.");
return 0;

async Task ShowInboxAsync()
{
    IReadOnlyList<IntakeInboxItem> intakes = await client.Intake.GetInboxAsync();
    for (int i = 0; i < intakes.Count; i++)
    {
        IntakeInboxItem item = intakes[i];
        string flags = item.RedFlagRuleIds.Count > 0 ? $"  RED FLAGS: {string.Join(", ", item.RedFlagRuleIds)}" : "";
        string claim = item.Claim is { } c ? $"claimed by {c.ClaimedBy}" : "unclaimed";
        Console.WriteLine($"  i{i + 1}  intake from {item.Patient}, {item.ReceivedAt.ToLocalTime():g}, {claim}{flags}");
    }

    IReadOnlyList<CallbackRequest> callbacks = await client.Callbacks.ListAsync();
    for (int i = 0; i < callbacks.Count; i++)
    {
        Console.Write($"  c{i + 1}  ");
        Show(callbacks[i]);
    }

    if (intakes.Count + callbacks.Count == 0)
    {
        Console.WriteLine("  (empty)");
    }
}

async Task ShowIntakeAsync(IntakeInboxItem item)
{
    IntakeAnswerReader answers = (await client.Intake.GetSubmissionAsync(item.SubmissionId)).Answers;
    Console.WriteLine($"  {answers.GetString(TelehealthIntake.LinkIds.GivenName)} {answers.GetString(TelehealthIntake.LinkIds.FamilyName)}, born {answers.GetDate(TelehealthIntake.LinkIds.BirthDate):yyyy-MM-dd}, phone {answers.GetString(TelehealthIntake.LinkIds.Phone)}");
    Console.WriteLine($"  complaint: {answers.GetString(TelehealthIntake.LinkIds.ChiefComplaint)}");
    foreach (IntakeAnswerReader symptom in answers.GetGroupInstances(TelehealthIntake.LinkIds.Symptoms))
    {
        Console.WriteLine($"  symptom: {symptom.GetCoding(TelehealthIntake.LinkIds.SymptomCode)?.Display ?? symptom.GetString(TelehealthIntake.LinkIds.SymptomCode)}, severity {symptom.GetInteger(TelehealthIntake.LinkIds.SymptomSeverity)}/10");
    }

    Console.WriteLine($"  allergies: {Listed(TelehealthIntake.LinkIds.HasAllergies, TelehealthIntake.LinkIds.Allergies)}; medication: {Listed(TelehealthIntake.LinkIds.TakesMedications, TelehealthIntake.LinkIds.Medications)}");
    string fhir = await client.Intake.GetQuestionnaireResponseAsync(item.SubmissionId);
    Console.WriteLine($"  (as FHIR R4 QuestionnaireResponse: {fhir.Length:N0} characters)");

    string Listed(string any, string list) =>
        answers.GetBoolean(any) == true ? string.Join(", ", answers.GetAnswers(list).OfType<StringAnswer>().Select(a => a.Value)) : "none";
}

async Task<IntakeInboxItem> IntakeAsync(string[] words) =>
    Pick(await client.Intake.GetInboxAsync(), words, 'i', "intake");

async Task<CallbackRequest> CallbackAsync(string[] words)
{
    CallbackRequest request = Pick(await client.Callbacks.ListAsync(), words, 'c', "callback request");
    // A callback lives in the patient's conversation with the clinic: replies go there.
    IReadOnlyList<Conversation> conversations = await client.Conversations.ListAsync();
    current = conversations.FirstOrDefault(c => c.Kind == ConversationKind.Clinic && c.Patient == request.Patient.Id)?.Id ?? current;
    return request;
}

void Show(CallbackRequest request)
{
    string window = request.ScheduledWindow is CallbackWindow w ? $", at {w.Start.ToLocalTime():t}" : "";
    string by = request.AssignedClinician is Participant clinician ? $", by {clinician.Id}" : "";
    Console.WriteLine($"  callback from {request.Patient.Id}: {request.State}, {request.Priority}{window}{by}, phone {request.PhoneNumber}, \"{request.Reason}\"");
}

static T Pick<T>(IReadOnlyList<T> items, string[] words, char kind, string name)
{
    if (items.Count == 0)
    {
        throw new ArgumentException($"There is no {name}; see 'inbox'.");
    }

    if (words.Length < 2)
    {
        return items[0];
    }

    return IsReference(words[1], kind) && int.TryParse(words[1].AsSpan(1), System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= items.Count
        ? items[n - 1]
        : throw new ArgumentException($"'{words[1]}' is not one of {kind}1..{kind}{items.Count}; see 'inbox'.");
}

static bool IsReference(string word, char kind) =>
    word.Length > 1 && word[0] == kind && word[1..].All(char.IsAsciiDigit);
