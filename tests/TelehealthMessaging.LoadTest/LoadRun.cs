using System.Diagnostics;
using System.Runtime;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// One measured run against one target: idle-connection memory first, then traffic (warm-up, measured window), then a
/// drain that waits for every accepted envelope to arrive before counting losses.
/// </summary>
internal sealed class LoadRun(LoadSettings settings, ILoadTarget target, TextWriter log)
{
    private static readonly double TicksPerMillisecond = Stopwatch.Frequency / 1000.0;

    private long _sendErrors;

    public async Task<LoadResult> RunAsync(CancellationToken ct)
    {
        string loadBefore = LoadAverage();
        var pairs = Enumerable.Range(0, settings.Devices).Select(i => new DevicePair(i, long.MaxValue, long.MaxValue)).ToList();
        if (settings.Rate == 0)
        {
            foreach (DevicePair pair in pairs)
            {
                pair.Credits = new SemaphoreSlim(settings.Window, settings.Window);
            }
        }

        log.WriteLine($"[{settings.Mode}] starting the server and provisioning {settings.Devices} sender/recipient pairs");
        await target.StartAsync(pairs, ct).ConfigureAwait(false);

        // Memory per idle connection: resident size before and after every recipient holds an open connection.
        await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        long residentBefore = target.Server.ResidentBytes();
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await Parallel.ForEachAsync(pairs, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (pair, _) =>
            await target.ConnectRecipientAsync(pair, receiving.Token).ConfigureAwait(false)).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        long residentIdle = target.Server.ResidentBytes();
        log.WriteLine($"[{settings.Mode}] {settings.Devices} recipients connected; resident {residentBefore / 1048576.0:0.0} → {residentIdle / 1048576.0:0.0} MiB");
        await Parallel.ForEachAsync(pairs, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (pair, _) =>
            await target.ConnectSenderAsync(pair, receiving.Token).ConfigureAwait(false)).ConfigureAwait(false);

        long start = Stopwatch.GetTimestamp();
        log.WriteLine($"[{settings.Mode}] {settings.Devices} senders connected; warming up for {settings.Warmup.TotalSeconds:0.#} s, then measuring for {settings.Duration.TotalSeconds:0.#} s");
        long measureStart = start + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
        long measureEnd = measureStart + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
        foreach (DevicePair pair in pairs)
        {
            pair.MeasureStart = measureStart;
            pair.MeasureEnd = measureEnd;
        }

        using var sending = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task[] senders = settings.Rate > 0
            ? [new OpenLoopPacer(pairs, settings.Rate, settings.PayloadBytes, SendWithRetriesAsync).RunAsync(start, measureEnd, sending.Token)]
            : pairs.Select(pair => Task.Run(() => SendClosedLoopAsync(pair, measureEnd, sending.Token), CancellationToken.None)).ToArray();

        bool noGcRegion = await WarmUpAsync(ct).ConfigureAwait(false);
        TimeSpan serverCpuStart = target.Server.CpuTime();
        TimeSpan toolCpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        TimeSpan toolPauseStart = GC.GetTotalPauseDuration();
        int toolGcStart = GC.CollectionCount(0);
        MachineCpu machineStart = MachineCpu.Read();
        // Stopped at the window's end below; the using also stops it (and deletes its file) if the run is cancelled.
        using DiskSyncProbe? probe = settings.DiskProbe ? new DiskSyncProbe() : null;
        string loadDuring = LoadAverage();
        await Task.Delay(TimeSpan.FromTicks(Math.Max(0, (measureEnd - Stopwatch.GetTimestamp()) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)), ct).ConfigureAwait(false);
        TimeSpan serverCpu = target.Server.CpuTime() - serverCpuStart;
        TimeSpan toolCpu = Process.GetCurrentProcess().TotalProcessorTime - toolCpuStart;
        TimeSpan toolPause = GC.GetTotalPauseDuration() - toolPauseStart;
        int toolGcs = GC.CollectionCount(0) - toolGcStart;
        MachineCpu machine = MachineCpu.Read() - machineStart;
        probe?.Dispose();
        IReadOnlyList<(long At, long Ticks)> diskStalls = probe?.Stalls ?? [];
        string loadAfter = LoadAverage();

        // Senders stop scheduling at measureEnd by themselves; the token only ends retries still failing at the deadline.
        Task sendersDone = Task.WhenAll(senders);
        long drainDeadline = Stopwatch.GetTimestamp() + (long)(settings.Drain.TotalSeconds * Stopwatch.Frequency);
        while (!sendersDone.IsCompleted && Stopwatch.GetTimestamp() < drainDeadline)
        {
            await Task.WhenAny(sendersDone, Task.Delay(50, ct)).ConfigureAwait(false);
        }

        await sending.CancelAsync().ConfigureAwait(false);
        await sendersDone.ConfigureAwait(false);
        while (pairs.Any(p => p.Unique < p.Sent) && Stopwatch.GetTimestamp() < drainDeadline)
        {
            await Task.Delay(50, ct).ConfigureAwait(false);
        }

        // Only once the window's envelopes have arrived: the first collection after the region goes through everything
        // allocated in it (a few hundred milliseconds), and envelopes sent at the end of the window that arrived
        // during it counted that as their latency (measured at 100 devices on PostgreSQL: the window's last 100 ms
        // held 42-125 envelopes slower than the p99, up to 232 ms).
        if (noGcRegion && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }

        bool drained = sendersDone.IsCompletedSuccessfully && pairs.All(p => p.Unique >= p.Sent);
        await receiving.CancelAsync().ConfigureAwait(false);

        long[] latencies = pairs.SelectMany(p => p.Latencies).Order().ToArray();
        if (settings.Timeline)
        {
            WriteTimeline(pairs, measureStart, PercentileTicks(latencies, 0.99), diskStalls);
        }

        long[] lateness = pairs.SelectMany(p => p.SendLateness).Order().ToArray();
        long sent = pairs.Sum(p => p.Sent);
        long delivered = pairs.Sum(p => p.DeliveredInWindow);
        return new LoadResult
        {
            Mode = settings.Mode,
            Label = settings.Label,
            Devices = settings.Devices,
            OfferedRate = settings.Rate,
            MeasuredSeconds = settings.Duration.TotalSeconds,
            PayloadBytes = settings.PayloadBytes,
            Send = target is RelayTarget ? settings.Send : "nats",
            Pipeline = settings.Rate == 0 ? settings.PipelineDepth : 0,
            Sent = sent,
            Received = pairs.Sum(p => p.Unique),
            DeliveredPerSecond = delivered / settings.Duration.TotalSeconds,
            P50Ms = Percentile(latencies, 0.50),
            P99Ms = Percentile(latencies, 0.99),
            MaxMs = latencies.Length == 0 ? 0 : latencies[^1] / TicksPerMillisecond,
            SendLatenessP50Ms = Percentile(lateness, 0.50),
            SendLatenessP99Ms = Percentile(lateness, 0.99),
            Drained = drained,
            Lost = pairs.Sum(p => Math.Max(0, p.Sent - p.Unique) + p.WronglyFiltered),
            TransportDuplicates = pairs.Sum(p => p.TransportDuplicates),
            DuplicatedToApp = pairs.Sum(p => p.DuplicatedToApp),
            SendErrors = Interlocked.Read(ref _sendErrors),
            ServerCpuMicrosecondsPerMessage = delivered == 0 ? 0 : serverCpu.TotalMicroseconds / delivered,
            ServerCpuCores = serverCpu.TotalSeconds / settings.Duration.TotalSeconds,
            ToolCpuCores = toolCpu.TotalSeconds / settings.Duration.TotalSeconds,
            ToolGcPauseMs = toolPause.TotalMilliseconds,
            ToolGcCount = toolGcs,
            StolenCores = machine.Stolen.TotalSeconds / settings.Duration.TotalSeconds,
            IoWaitCores = machine.IoWait.TotalSeconds / settings.Duration.TotalSeconds,
            DiskSyncProbes = probe?.Probes ?? 0,
            DiskSyncStalls = diskStalls.Count,
            DiskSyncMaxMs = diskStalls.Count == 0 ? 0 : diskStalls.Max(s => s.Ticks) / TicksPerMillisecond,
            IdleConnectionBytes = (residentIdle - residentBefore) / (double)settings.Devices,
            LoadAverageBefore = loadBefore,
            LoadAverageDuring = loadDuring,
            LoadAverageAfter = loadAfter,
            SubmitProfile = target is RelayTarget relay && settings.Profile ? SubmitProfile.From(relay.SubmitMilliseconds) : null,
            Command = Environment.CommandLine,
        };
    }

    /// <summary>
    /// Waits out the warm-up. In rate mode the measured window then runs without garbage collection in the generator:
    /// its hundreds or thousands of devices share one heap (on real devices each has its own), and at 1,000 devices its
    /// collections stopped every thread for 10–25 ms about twice a second, so a p99 measured from the scheduled send
    /// time counted the generator's pauses as the server's latency (measured: the storage-free ceiling's p99 at
    /// 5,000/s went from 29 to 12.5 ms without them). The region is entered a second before the window so that the
    /// full collection that starts it falls in the warm-up; its budget covers the window with room to spare, and the
    /// result counts the collections that happened anyway.
    /// </summary>
    private async Task<bool> WarmUpAsync(CancellationToken ct)
    {
        TimeSpan lead = TimeSpan.FromSeconds(1);
        if (settings.Rate == 0 || settings.GeneratorGc || settings.Warmup <= lead)
        {
            await Task.Delay(settings.Warmup, ct).ConfigureAwait(false);
            return false;
        }

        await Task.Delay(settings.Warmup - lead, ct).ConfigureAwait(false);
        // About 5 KB per envelope was measured at 100 and 1,000 devices; 16 KiB leaves room for retries and bursts.
        long budget = Math.Min(16L << 30, (long)settings.Rate * (long)(settings.Duration + lead + lead).TotalSeconds * 16384);
        bool started;
        try
        {
            started = GC.TryStartNoGCRegion(budget);
        }
        catch (ArgumentOutOfRangeException)
        {
            // More than this runtime allows for a region (a very high rate or a long window): collect as usual.
            started = false;
        }

        if (!started)
        {
            log.WriteLine($"[{settings.Mode}] the generator could not enter a no-GC region; its collections count in the latency (see tool-gcs)");
        }

        await Task.Delay(lead, ct).ConfigureAwait(false);
        return started;
    }

    /// <summary>
    /// For each 100 ms of the window (by scheduled send time) that holds envelopes slower than the run's p99: how many
    /// were scheduled, how many of them were slower, and the slowest. A tail from a few stalls (a collection, a
    /// checkpoint) shows as a few lines with most of their envelopes slow; a tail spread over the window, as many lines.
    /// With --disk-probe, the disk's slow syncs are listed among them at the time they started.
    /// </summary>
    private void WriteTimeline(List<DevicePair> pairs, long measureStart, long p99, IReadOnlyList<(long At, long Ticks)> diskStalls)
    {
        long bucket = Stopwatch.Frequency / 10;
        var slots = new SortedDictionary<long, (int All, int Slow, long Max)>();
        foreach (DevicePair pair in pairs)
        {
            for (int i = 0; i < pair.Latencies.Count; i++)
            {
                long slot = (pair.Scheduled[i] - measureStart) / bucket;
                (int all, int slow, long max) = slots.GetValueOrDefault(slot);
                long latency = pair.Latencies[i];
                slots[slot] = (all + 1, slow + (latency > p99 ? 1 : 0), Math.Max(max, latency));
            }
        }

        var lines = slots.Where(s => s.Value.Slow > 0)
            .Select(s => (At: s.Key * bucket, Text: $"  +{s.Key / 10.0,5:0.0} s  {s.Value.Slow,5} of {s.Value.All,5} slower  max {s.Value.Max / TicksPerMillisecond,7:0.0} ms"))
            .Concat(diskStalls.Select(d => (At: d.At - measureStart, Text: $"  +{(d.At - measureStart) / (double)Stopwatch.Frequency,5:0.00} s  disk sync took {d.Ticks / TicksPerMillisecond:0} ms")))
            .OrderBy(l => l.At);
        log.WriteLine($"[{settings.Mode}] timeline: p99 {p99 / TicksPerMillisecond:0.0} ms; 100-ms slots (by scheduled time) holding envelopes slower than that:");
        foreach ((_, string text) in lines)
        {
            log.WriteLine(text);
        }
    }

    private static double Percentile(long[] sorted, double quantile) => PercentileTicks(sorted, quantile) / TicksPerMillisecond;

    private static long PercentileTicks(long[] sorted, double quantile) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>
    /// Closed loop: batches of --batch as fast as delivery frees credits, at most --window envelopes in flight per pair;
    /// a batch is submitted as soon as it has credits, without waiting for the previous submission's answer, up to
    /// --pipeline submissions per pair at once (as an app draining its outbox over one connection would).
    /// </summary>
    private async Task SendClosedLoopAsync(DevicePair pair, long end, CancellationToken ct)
    {
        SemaphoreSlim credits = pair.Credits!;
        var submissions = new List<Task<bool>>();
        while (Stopwatch.GetTimestamp() < end)
        {
            submissions.RemoveAll(s => s.IsCompletedSuccessfully && s.Result);
            if (submissions.Any(s => s.IsCompleted))
            {
                // A submission gave up (cancelled): the run is over.
                break;
            }

            if (submissions.Count >= settings.PipelineDepth)
            {
                await Task.WhenAny(submissions).ConfigureAwait(false);
                continue;
            }

            for (int i = 0; i < settings.Batch; i++)
            {
                await credits.WaitAsync(ct).ConfigureAwait(false);
            }

            long now = Stopwatch.GetTimestamp();
            var batch = new List<(MessageId, byte[])>(settings.Batch);
            for (int i = 0; i < settings.Batch; i++)
            {
                batch.Add((MessageId.New(), LoadDevice.Envelope(pair.Recipient.DeviceId, settings.PayloadBytes, now)));
            }

            submissions.Add(SendWithRetriesAsync(pair, batch, ct));
        }

        await Task.WhenAll(submissions).ConfigureAwait(false);
    }

    /// <summary>Resubmits the same ids until accepted (submission is idempotent); false when cancelled first.</summary>
    private async Task<bool> SendWithRetriesAsync(DevicePair pair, List<(MessageId Id, byte[] Data)> batch, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await target.SendAsync(pair, batch, ct).ConfigureAwait(false);
                pair.AddSent(batch.Count);
                return true;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return false;
            }
#pragma warning disable CA1031 // Any failure of one submission is counted and retried; the run must go on.
            catch (Exception error)
#pragma warning restore CA1031
            {
                if (Interlocked.Increment(ref _sendErrors) <= 3)
                {
                    log.WriteLine($"[{settings.Mode}] submission failed ({error.GetType().Name}: {error.Message}); retrying");
                }

                try
                {
                    await Task.Delay(100, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }
    }
}
