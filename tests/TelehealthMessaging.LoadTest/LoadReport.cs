using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TelehealthMessaging.LoadTest;

/// <summary>Turns result files into the one-line summary and the Markdown tables of docs/benchmarks.md.</summary>
internal static class LoadReport
{
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private static readonly string[] Modes = ["relay-sqlite", "relay-postgres", "ceiling", "jetstream"];

    public static string Line(LoadResult r)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        string rate = r.OfferedRate == 0 ? "max" : r.OfferedRate.ToString(c);
        string line = string.Create(c, $"{r.Mode,-14} devices={r.Devices} rate={rate} delivered/s={r.DeliveredPerSecond:0} p50={r.P50Ms:0.00}ms p99={r.P99Ms:0.00}ms ")
            + (r.OfferedRate == 0 ? "" : string.Create(c, $"generator-late p50={r.SendLatenessP50Ms:0.00}ms p99={r.SendLatenessP99Ms:0.00}ms "))
            + string.Create(c, $"lost={r.Lost}{(r.Drained ? "" : " (NOT DRAINED: undelivered at the deadline)")} dup-to-app={r.DuplicatedToApp} transport-dups={r.TransportDuplicates} cpu/msg={r.ServerCpuMicrosecondsPerMessage:0.0}µs server-cores={r.ServerCpuCores:0.00} tool-cores={r.ToolCpuCores:0.00} tool-gcs={r.ToolGcCount} tool-gc-pause={r.ToolGcPauseMs:0}ms stolen-cores={r.StolenCores:0.00} iowait-cores={r.IoWaitCores:0.00} ")
            + string.Create(c, $"idle-conn={r.IdleConnectionBytes / 1024:0.0}KiB send-errors={r.SendErrors} load={r.LoadAverageDuring}");
        if (r.DiskSyncProbes > 0)
        {
            line += string.Create(c, $" disk-syncs={r.DiskSyncProbes} over-20ms={r.DiskSyncStalls} max={r.DiskSyncMaxMs:0}ms");
        }

        return r.SubmitProfile is { } p
            ? line + string.Create(c, $" relay-submit: {p.Requests} requests mean={p.MeanMs:0.00}ms p50={p.P50Ms:0.00}ms p99={p.P99Ms:0.00}ms")
            : line;
    }

    public static List<LoadResult> Read(string folder) =>
        Directory.EnumerateFiles(folder, "*.json")
            .Select(f => JsonSerializer.Deserialize<LoadResult>(File.ReadAllText(f), JsonOptions)!)
            .ToList();

    /// <summary>Medians over rounds per (devices, offered rate, mode); losses and duplicates are summed over every run.</summary>
    public static string Markdown(IReadOnlyList<LoadResult> results)
    {
        var text = new StringBuilder();
        foreach (int devices in results.Select(r => r.Devices).Distinct().Order())
        {
            text.Append(CultureInfo.InvariantCulture, $"#### {devices} devices\n\n");
            text.Append("| Mode | Offered | Runs | Delivered/s | p50 ms | p99 ms (each run) | Generator late p99 ms | Lost | Dup. to app | Transport dups | Failed submissions (retried) | Server CPU µs/msg | Server cores | Idle conn. KiB | Load avg (1 min) |\n");
            text.Append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            foreach (var group in results.Where(r => r.Devices == devices).GroupBy(r => (r.OfferedRate, r.Mode)).OrderBy(g => g.Key.OfferedRate).ThenBy(g => Array.IndexOf(Modes, g.Key.Mode)))
            {
                var runs = group.ToList();
                text.Append(CultureInfo.InvariantCulture, $"| {group.Key.Mode} | {Offered(group.Key.OfferedRate)} | {runs.Count} | {Median(runs, r => r.DeliveredPerSecond):0} | {Median(runs, r => r.P50Ms):0.00} | {Median(runs, r => r.P99Ms):0.00} ({string.Join(", ", runs.Select(r => r.P99Ms.ToString("0.0", CultureInfo.InvariantCulture)))}) | {(group.Key.OfferedRate == 0 ? "–" : Median(runs, r => r.SendLatenessP99Ms).ToString("0.00", CultureInfo.InvariantCulture))} | {Lost(runs)} | {runs.Sum(r => r.DuplicatedToApp)} | {runs.Sum(r => r.TransportDuplicates)} | {runs.Sum(r => r.SendErrors)} | {Median(runs, r => r.ServerCpuMicrosecondsPerMessage):0.0} | {Median(runs, r => r.ServerCpuCores):0.00} | {Median(runs, r => r.IdleConnectionBytes) / 1024:0.0} | {string.Join(", ", runs.Select(r => r.LoadAverageDuring.Split(' ')[0]))} |\n");
            }

            text.Append('\n');
            text.Append(Targets(results.Where(r => r.Devices == devices).ToList()));
            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The relay's own time per submission next to the end-to-end figures of the same (profiled) run.</summary>
    public static string ProfileMarkdown(IReadOnlyList<LoadResult> results)
    {
        var text = new StringBuilder();
        text.Append("| Profiled run | Delivered/s | Server cores | Server CPU µs/msg | Submissions | Relay time per submission: mean | p50 | p99 |\n");
        text.Append("|---|---|---|---|---|---|---|---|\n");
        foreach (LoadResult r in results.Where(r => r.SubmitProfile is not null).OrderBy(r => Array.IndexOf(Modes, r.Mode)))
        {
            SubmitProfile p = r.SubmitProfile!;
            text.Append(CultureInfo.InvariantCulture, $"| {r.Mode}, {r.Devices} devices, {Offered(r.OfferedRate)} | {r.DeliveredPerSecond:0} | {r.ServerCpuCores:0.00} | {r.ServerCpuMicrosecondsPerMessage:0.0} | {p.Requests} | {p.MeanMs:0.00} ms | {p.P50Ms:0.00} ms | {p.P99Ms:0.00} ms |\n");
        }

        return text.Append('\n').ToString();
    }

    private static string Targets(List<LoadResult> results)
    {
        double Max(string mode) => Median(results.Where(r => r.Mode == mode && r.OfferedRate == 0).ToList(), r => r.DeliveredPerSecond);
        double P99At5000(string mode) => Median(results.Where(r => r.Mode == mode && r.OfferedRate == 5000).ToList(), r => r.P99Ms);
        string Ratio(double a, double b) => a == 0 || b == 0 ? "n/a" : (a / b).ToString("0.00", CultureInfo.InvariantCulture) + " ×";
        string Verdict(double a, double b, double goal) => a == 0 || b == 0 ? "not measured" : a / b >= goal ? "met" : "missed";
        string Below(double value, double goal) => value == 0 ? "not measured" : value < goal ? "met" : "missed";

        double sqlite = Max("relay-sqlite"), postgres = Max("relay-postgres"), ceiling = Max("ceiling"), jetstream = Max("jetstream");
        long lost = results.Where(r => r.Drained).Sum(r => r.Lost), duplicated = results.Sum(r => r.DuplicatedToApp);
        int undrained = results.Count(r => !r.Drained);
        var text = new StringBuilder();
        text.Append("| Target (acceptance 5) | Measured | Verdict |\n|---|---|---|\n");
        text.Append(CultureInfo.InvariantCulture, $"| SQLite relay ≥ 0.5 × ceiling (max throughput) | {Ratio(sqlite, ceiling)} | {Verdict(sqlite, ceiling, 0.5)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| PostgreSQL relay ≥ 0.4 × ceiling | {Ratio(postgres, ceiling)} | {Verdict(postgres, ceiling, 0.4)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| SQLite relay ≥ 2 × JetStream | {Ratio(sqlite, jetstream)} | {Verdict(sqlite, jetstream, 2)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| PostgreSQL relay ≥ 2 × JetStream | {Ratio(postgres, jetstream)} | {Verdict(postgres, jetstream, 2)} |\n");
        // On a shared, overloaded machine each server gets whatever CPU share the scheduler leaves it; the CPU each one
        // spends per delivered envelope does not depend on that share, so its inverse ratio is the throughput ratio at equal CPU.
        double Cpu(string mode) => Median(results.Where(r => r.Mode == mode && r.OfferedRate == 0).ToList(), r => r.ServerCpuMicrosecondsPerMessage);
        double cpuSqlite = Cpu("relay-sqlite"), cpuPostgres = Cpu("relay-postgres"), cpuCeiling = Cpu("ceiling"), cpuJetStream = Cpu("jetstream");
        text.Append(CultureInfo.InvariantCulture, $"| (at equal CPU) SQLite relay ÷ ceiling, from server CPU µs per message | {Ratio(cpuCeiling, cpuSqlite)} | {Verdict(cpuCeiling, cpuSqlite, 0.5)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| (at equal CPU) PostgreSQL relay ÷ ceiling (relay process only; the database's CPU is not counted) | {Ratio(cpuCeiling, cpuPostgres)} | {Verdict(cpuCeiling, cpuPostgres, 0.4)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| (at equal CPU) SQLite relay ÷ JetStream | {Ratio(cpuJetStream, cpuSqlite)} | {Verdict(cpuJetStream, cpuSqlite, 2)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| SQLite p99 < 10 ms at 5,000/s offered | {P99At5000("relay-sqlite"):0.00} ms | {Below(P99At5000("relay-sqlite"), 10)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| PostgreSQL p99 < 20 ms at 5,000/s offered | {P99At5000("relay-postgres"):0.00} ms | {Below(P99At5000("relay-postgres"), 20)} |\n");
        string drainNote = undrained == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"; {undrained} run(s) not drained by the deadline, their loss unknown");
        text.Append(CultureInfo.InvariantCulture, $"| lost = 0 and duplicated-to-app = 0 in every run ({results.Count} runs) | lost {lost}, duplicated {duplicated}{drainNote} | {(lost == 0 && duplicated == 0 ? (undrained == 0 ? "met" : "met where drained") : "missed")} |\n");
        return text.ToString();
    }

    private static string Lost(List<LoadResult> runs)
    {
        long lost = runs.Where(r => r.Drained).Sum(r => r.Lost);
        int undrained = runs.Count(r => !r.Drained);
        return undrained == 0
            ? lost.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{lost} (+{runs.Where(r => !r.Drained).Sum(r => r.Lost)} undelivered at the deadline in {undrained} undrained run(s))");
    }

    private static string Offered(int rate) => rate == 0 ? "max" : rate.ToString("N0", CultureInfo.InvariantCulture) + "/s";

    private static double Median(List<LoadResult> runs, Func<LoadResult, double> value)
    {
        double[] sorted = runs.Select(value).Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
