using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Samples;

/// <summary>
/// What PatientConsole and ClinicianConsole share: command-line settings, the encrypted store opened with a
/// passphrase, the client, and a background printer for incoming events.
/// </summary>
internal sealed class ConsoleSession : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly PassphraseKeyProtector _protector;
    private readonly EncryptedFileStore _store;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _printing;

    private ConsoleSession(ServiceProvider services, PassphraseKeyProtector protector, EncryptedFileStore store, TelehealthClient client, ClinicId clinic)
    {
        _services = services;
        _protector = protector;
        _store = store;
        Client = client;
        Clinic = clinic;
        _printing = PrintEventsAsync(_stopping.Token);
    }

    public TelehealthClient Client { get; }

    /// <summary>The clinic the patient writes to, or the clinician triages for.</summary>
    public ClinicId Clinic { get; }

    /// <summary>
    /// Parses <c>--relay uri --user id --clinic id --data folder</c> (each optional), reads the passphrase from
    /// TELEHEALTH_PASSPHRASE or a prompt, opens the store and starts connecting in the background.
    /// </summary>
    /// <returns>The session, or <see langword="null"/> after printing why it cannot start.</returns>
    public static async Task<ConsoleSession?> StartAsync(string[] args, string app, ParticipantRole role, string defaultUser)
    {
        var settings = new Dictionary<string, string>
        {
            ["--relay"] = "http://127.0.0.1:5080",
            ["--user"] = defaultUser,
            ["--clinic"] = "seoul-clinic",
        };
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !(settings.ContainsKey(args[i]) || args[i] == "--data"))
            {
                Console.Error.WriteLine($"Usage: {app} [--relay http://127.0.0.1:5080] [--user {defaultUser}] [--clinic seoul-clinic] [--data folder]");
                return null;
            }

            settings[args[i]] = args[i + 1];
        }

        UserId user;
        ClinicId clinic;
        try
        {
            user = new UserId(settings["--user"]);
            clinic = new ClinicId(settings["--clinic"]);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return null;
        }

        if (!Uri.TryCreate(settings["--relay"], UriKind.Absolute, out Uri? relay) || relay.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            Console.Error.WriteLine("--relay must be an absolute http(s):// or ws(s):// URI.");
            return null;
        }

        // One data folder per app and user: a second device of the same user is a second folder.
        string folder = settings.GetValueOrDefault("--data") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "TelehealthMessaging", app, settings["--user"]);
        string? passphrase = ReadPassphrase();
        if (string.IsNullOrEmpty(passphrase))
        {
            Console.Error.WriteLine("No passphrase (set TELEHEALTH_PASSPHRASE or type one).");
            return null;
        }

        var protector = new PassphraseKeyProtector(passphrase);
        EncryptedFileStore store;
        try
        {
            store = await EncryptedFileStore.OpenAsync(folder, protector);
        }
        catch (TelehealthException ex) when (ex.ErrorCode == TelehealthErrorCode.IntegrityCheckFailed)
        {
            protector.Dispose();
            Console.Error.WriteLine($"The store in {folder} does not open with this passphrase.");
            return null;
        }

        // Registered as an app does, with AddTelehealthMessaging: it also supplies the relay's HTTP client.
        var services = new ServiceCollection();
        services.AddTelehealthMessaging(options =>
            {
                options.User = user;
                options.Role = role;
                options.Clinic = role == ParticipantRole.Clinician ? clinic : null;
                options.RedFlags = new RedFlagOptions { Region = EmergencyRegion.Korea }; // the sample clinic is in Seoul: 119
            })
            .UseRelay(relay)
            .UseStore(store);
        ServiceProvider provider = services.BuildServiceProvider();
        TelehealthClient client = provider.GetRequiredService<TelehealthClient>();
        var session = new ConsoleSession(provider, protector, store, client, clinic);
        Console.WriteLine($"{app}: {client.User} ({role}), data in {folder}, relay {relay}. Type 'help'.");
        _ = session.ConnectAsync();
        return session;
    }

    /// <summary>The next command line; <see langword="null"/> when stdin is closed.</summary>
    public static string? Prompt(string prompt)
    {
        Console.Write(prompt);
        string? line = Console.ReadLine();
        if (line is null)
        {
            Console.WriteLine();
        }

        return line?.Trim();
    }

    public static string Describe(TelehealthEvent e) => e switch
    {
        MessageReceivedEvent { Message: { IsOutgoing: false } m } => $"{m.Message.Sender.Id}: {Describe(m.Message.Content)}",
        MessageReceivedEvent { Message: { } m } => $"(from your other device) {Describe(m.Message.Content)}",
        MessageStatusChangedEvent s => $"message {s.MessageId} is {s.Status}{(s.FailureReason is { } reason ? $" ({reason})" : "")}",
        IntakeReceivedEvent i => $"new intake {i.Item.SubmissionId} from {i.Item.Patient}{(i.Item.RedFlagRuleIds.Count > 0 ? $", RED FLAGS: {string.Join(", ", i.Item.RedFlagRuleIds)}" : "")}",
        WorkItemClaimedEvent c => $"{c.ItemId} claimed by {c.Claim.ClaimedBy}{(c.Claim.IsOwn ? " (you)" : "")}",
        CallbackChangedEvent c => $"callback {c.Request.Id} is {c.Request.State}{(c.Request.ScheduledWindow is CallbackWindow w ? $", scheduled {w.Start.ToLocalTime():g}" : "")}",
        ConnectionStateChangedEvent c => $"relay connection: {c.State}",
        _ => e.GetType().Name,
    };

    public static string Describe(MessageContent content) => content switch
    {
        TextContent t => t.Text,
        IntakeSubmissionContent => "[intake]",
        CallbackRequestContent => "[callback request]",
        _ => $"[{content.ContentType}]",
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _services.DisposeAsync(); // disposes the client
        await _printing;
        _store.Dispose();
        _protector.Dispose();
        _stopping.Dispose();
    }

    private static string? ReadPassphrase()
    {
        if (Environment.GetEnvironmentVariable("TELEHEALTH_PASSPHRASE") is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        Console.Write("Passphrase for the local encrypted store: ");
        if (Console.IsInputRedirected)
        {
            return Console.ReadLine();
        }

        var typed = new System.Text.StringBuilder();
        for (ConsoleKeyInfo key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && typed.Length > 0)
            {
                typed.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        Console.WriteLine();
        return typed.ToString();
    }

    private async Task ConnectAsync()
    {
        try
        {
            await Client.StartAsync(_stopping.Token);
            Console.WriteLine($"[connected as device {Client.Device}]");
        }
        catch (OperationCanceledException)
        {
            // Quit before the relay answered.
        }
        catch (Exception ex) when (ex is TelehealthException or ArgumentException or NotSupportedException)
        {
            Console.WriteLine($"[cannot use the relay: {ex.Message}]");
        }
    }

    private async Task PrintEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (TelehealthEvent e in Client.ReadEventsAsync(cancellationToken))
            {
                Console.WriteLine($"  << {Describe(e)}");
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }
}
