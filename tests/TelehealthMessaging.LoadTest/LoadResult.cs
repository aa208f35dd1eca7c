namespace TelehealthMessaging.LoadTest;

/// <summary>What one run measured; written as JSON and summarised by the report command.</summary>
internal sealed record LoadResult
{
    public required string Mode { get; init; }

    public required string Label { get; init; }

    public required int Devices { get; init; }

    /// <summary>Offered envelopes per second; 0 for the closed-loop (maximum throughput) mode.</summary>
    public required int OfferedRate { get; init; }

    public required double MeasuredSeconds { get; init; }

    public required int PayloadBytes { get; init; }

    /// <summary>How senders submitted: "ws" (frames on their socket), "http" (POST) or "nats" (JetStream publish).</summary>
    public string Send { get; init; } = "http";

    /// <summary>Submissions a pair had awaiting an answer at most (max mode); 0 in rate mode.</summary>
    public int Pipeline { get; init; }

    public required long Sent { get; init; }

    public required long Received { get; init; }

    public required double DeliveredPerSecond { get; init; }

    public required double P50Ms { get; init; }

    public required double P99Ms { get; init; }

    public required double MaxMs { get; init; }

    /// <summary>
    /// Rate mode: how late the generator's pacing thread reached each envelope's scheduled time (part of every latency;
    /// waiting behind the pair's previous submission is not, that is the server's); 0 in max mode.
    /// </summary>
    public double SendLatenessP50Ms { get; init; }

    /// <inheritdoc cref="SendLatenessP50Ms"/>
    public double SendLatenessP99Ms { get; init; }

    /// <summary>
    /// Whether every accepted envelope arrived before the drain deadline. When false, <see cref="Lost"/> counts envelopes
    /// still undelivered at the deadline: late or lost cannot be told apart.
    /// </summary>
    public required bool Drained { get; init; }

    /// <summary>Accepted by the server but never received (sent − received-unique after the drain), plus any the duplicate filter wrongly held back.</summary>
    public required long Lost { get; init; }

    public required long TransportDuplicates { get; init; }

    public required long DuplicatedToApp { get; init; }

    public required long SendErrors { get; init; }

    public required double ServerCpuMicrosecondsPerMessage { get; init; }

    public required double ServerCpuCores { get; init; }

    public required double ToolCpuCores { get; init; }

    /// <summary>Time the load generator's own threads stood still for its garbage collector in the measured window.</summary>
    public double ToolGcPauseMs { get; init; }

    /// <summary>Garbage collections of the load generator in the measured window (0 when its no-GC region held).</summary>
    public int ToolGcCount { get; init; }

    /// <summary>
    /// Cores' worth of time in the window that the hypervisor gave to other guests (steal): time nobody here ran,
    /// which shows up as latency. A noisy neighbour, not the server.
    /// </summary>
    public double StolenCores { get; init; }

    /// <summary>Cores' worth of time in the window that were idle waiting for the disk (iowait), machine-wide.</summary>
    public double IoWaitCores { get; init; }

    /// <summary>With --disk-probe: syncs of 4 KiB made in the window, those slower than 20 ms, and the slowest.</summary>
    public int DiskSyncProbes { get; init; }

    /// <inheritdoc cref="DiskSyncProbes"/>
    public int DiskSyncStalls { get; init; }

    /// <inheritdoc cref="DiskSyncProbes"/>
    public double DiskSyncMaxMs { get; init; }

    public required double IdleConnectionBytes { get; init; }

    public required string LoadAverageBefore { get; init; }

    public required string LoadAverageDuring { get; init; }

    public required string LoadAverageAfter { get; init; }

    public SubmitProfile? SubmitProfile { get; init; }

    public required string Command { get; init; }
}

/// <summary>The relay's own time per submission request (authentication, parsing and the store call), from its log.</summary>
internal sealed record SubmitProfile(int Requests, double MeanMs, double P50Ms, double P99Ms)
{
    public static SubmitProfile From(IReadOnlyCollection<double> milliseconds)
    {
        double[] sorted = milliseconds.Order().ToArray();
        double At(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new SubmitProfile(sorted.Length, sorted.Length == 0 ? 0 : sorted.Average(), At(0.5), At(0.99));
    }
}
