using System.Globalization;

namespace TelehealthMessaging.LoadTest;

/// <summary>What one load run does; parsed from the command line (see <see cref="Usage"/>).</summary>
internal sealed class LoadSettings
{
    public const string Usage = """
        Usage: TelehealthMessaging.LoadTest [options]
               TelehealthMessaging.LoadTest serve-ceiling --urls http://127.0.0.1:PORT
               TelehealthMessaging.LoadTest report RESULTS_DIR   (or: profile RESULTS_DIR)
          --mode relay-sqlite|relay-postgres|ceiling|jetstream   (default relay-sqlite)
          --devices N        sender/recipient pairs (default 100)
          --rate R|max       offered envelopes per second over all pairs, or max: closed loop (default max)
          --duration S       measured seconds (default 20)   --warmup S   seconds before measuring (default 5)
          --payload BYTES    sealed envelope size (default 1024)
          --batch N          envelopes per submission in max mode (default 10)
          --window N         unreceived envelopes a pair may have in flight in max mode (default 100)
          --pipeline N       submissions a pair may have awaiting their answer in max mode (default window ÷ batch)
          --drain S          seconds to wait for stragglers after sending stops (default 30)
          --relay-dll PATH   the built relay host (default: src/TelehealthMessaging.Relay/bin/Release/net10.0/…)
          --postgres CONN    PostgreSQL connection string for relay-postgres (an empty database)
          --nats-server PATH nats-server binary (default nats-server on PATH)
          --send ws|http     relay modes: senders submit as frames on their open WebSocket (default) or by HTTP POST
          --profile          relay modes: collect the relay's own per-submission timings (debug log) into the result
          --generator-gc     rate mode: let the generator collect garbage in the measured window (default: a no-GC region)
          --timeline         also print, per 100 ms of the window, the envelopes slower than the run's p99 (where the tail is)
          --disk-probe       sync 4 KiB to disk every 10 ms in the window; count syncs over 20 ms (with --timeline: when)
          --label TEXT       free text stored with the result (e.g. the round number)
          --out FILE         also write the result as JSON to FILE
        """;

    public string Mode { get; private set; } = "relay-sqlite";

    public int Devices { get; private set; } = 100;

    /// <summary>Offered envelopes per second over all pairs; 0 means closed loop (as fast as delivery allows).</summary>
    public int Rate { get; private set; }

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(20);

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Drain { get; private set; } = TimeSpan.FromSeconds(30);

    public int PayloadBytes { get; private set; } = 1024;

    public int Batch { get; private set; } = 10;

    public int Window { get; private set; } = 100;

    /// <summary>Submissions a pair may have awaiting their answer in max mode; 0 means window ÷ batch.</summary>
    public int Pipeline { get; private set; }

    /// <summary>The pipelining depth in effect.</summary>
    public int PipelineDepth => Pipeline > 0 ? Pipeline : Math.Max(1, Window / Batch);

    public string? RelayDll { get; private set; }

    public string? PostgresConnectionString { get; private set; }

    public string NatsServer { get; private set; } = "nats-server";

    public bool Profile { get; private set; }

    /// <summary>
    /// Rate mode: let the generator collect garbage during the measured window, as before session 8 (by default the
    /// window runs in a no-GC region so that the generator's pauses are not counted as the server's latency).
    /// </summary>
    public bool GeneratorGc { get; private set; }

    /// <summary>Print where in the window the envelopes slower than the p99 were scheduled: a few stalls or spread out.</summary>
    public bool Timeline { get; private set; }

    /// <summary>Probe the disk's sync latency through the window (<see cref="DiskSyncProbe"/>).</summary>
    public bool DiskProbe { get; private set; }

    /// <summary>How relay-mode senders submit: "ws" (frames on an open socket) or "http" (POST /v1/messages).</summary>
    public string Send { get; private set; } = "ws";

    public string Label { get; private set; } = "";

    public string? Out { get; private set; }

    public static LoadSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new LoadSettings();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Positive() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new ArgumentException($"{args[i - 1]} must be a positive integer.");

            switch (args[i])
            {
                case "--mode":
                    settings.Mode = Value();
                    if (settings.Mode is not ("relay-sqlite" or "relay-postgres" or "ceiling" or "jetstream"))
                    {
                        throw new ArgumentException("--mode must be relay-sqlite, relay-postgres, ceiling or jetstream.");
                    }

                    break;
                case "--devices": settings.Devices = Positive(); break;
                case "--rate":
                    settings.Rate = args.Count > i + 1 && args[i + 1] == "max" ? SkipMax(ref i) : Positive();
                    break;
                case "--duration": settings.Duration = TimeSpan.FromSeconds(Positive()); break;
                case "--warmup": settings.Warmup = TimeSpan.FromSeconds(Positive()); break;
                case "--drain": settings.Drain = TimeSpan.FromSeconds(Positive()); break;
                case "--payload": settings.PayloadBytes = Positive(); break;
                case "--batch": settings.Batch = Math.Min(100, Positive()); break;
                case "--window": settings.Window = Positive(); break;
                case "--pipeline": settings.Pipeline = Positive(); break;
                case "--relay-dll": settings.RelayDll = Value(); break;
                case "--postgres": settings.PostgresConnectionString = Value(); break;
                case "--nats-server": settings.NatsServer = Value(); break;
                case "--profile": settings.Profile = true; break;
                case "--generator-gc": settings.GeneratorGc = true; break;
                case "--timeline": settings.Timeline = true; break;
                case "--disk-probe": settings.DiskProbe = true; break;
                case "--send":
                    settings.Send = Value();
                    if (settings.Send is not ("ws" or "http"))
                    {
                        throw new ArgumentException("--send must be ws or http.");
                    }

                    break;
                case "--label": settings.Label = Value(); break;
                case "--out": settings.Out = Value(); break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }

        if (settings.Mode == "relay-postgres" && string.IsNullOrEmpty(settings.PostgresConnectionString))
        {
            throw new ArgumentException("--mode relay-postgres needs --postgres CONNECTION_STRING.");
        }

        if (settings.Window < settings.Batch)
        {
            throw new ArgumentException("--window must be at least --batch.");
        }

        return settings;
    }

    /// <summary>The relay host next to this repository's Release build, unless --relay-dll names one.</summary>
    public string ResolveRelayDll()
    {
        if (RelayDll is not null)
        {
            return Path.GetFullPath(RelayDll);
        }

        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "TelehealthMessaging.sln")))
            {
                return Path.Combine(folder.FullName, "src", "TelehealthMessaging.Relay", "bin", "Release", "net10.0", "TelehealthMessaging.Relay.dll");
            }
        }

        throw new ArgumentException("Cannot find the repository root; pass --relay-dll.");
    }

    private static int SkipMax(ref int i)
    {
        i++;
        return 0;
    }
}
