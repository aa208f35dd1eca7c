using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// The open loop (rate mode) for every pair, paced by one thread that sleeps until each envelope's scheduled time and
/// starts its submission right there.
/// </summary>
/// <remarks>
/// Latency is measured from the scheduled time, so the generator's own lateness counts as latency. With a
/// <c>Task.Delay</c> per pair (timer granularity of a millisecond, then a thread-pool hop) the generator started
/// submissions 1.9 ms late at the median and 5.7 ms at p99 at 5,000/s — most of the storage-free ceiling's latency.
/// A thread sleeping with <c>nanosleep</c> (timer slack 1 µs) is late by tens of microseconds when a core is free.
/// A pair still awaiting its previous answer when an envelope falls due does not start another submission: the
/// envelopes that fell due meanwhile go together in the next one (up to 100), as before, and their wait counts.
/// </remarks>
internal sealed partial class OpenLoopPacer(
    IReadOnlyList<DevicePair> pairs,
    int rate,
    int payloadBytes,
    Func<DevicePair, List<(MessageId, byte[])>, CancellationToken, Task<bool>> submit)
{
    private const int MaxBatch = 100;

    /// <summary>Runs the schedule from <paramref name="start"/> until <paramref name="end"/>; completes when every submission has.</summary>
    public Task RunAsync(long start, long end, CancellationToken ct)
    {
        double interval = Stopwatch.Frequency * (double)pairs.Count / rate;
        PairState[] states = pairs
            .Select(pair => new PairState(pair, start + (long)(Random.Shared.NextDouble() * interval)))
            .OrderBy(state => state.Phase)
            .ToArray();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Pace(states, interval, end, ct);
                done.SetResult();
            }
#pragma warning disable CA1031 // Reported through the task the run awaits.
            catch (Exception error)
#pragma warning restore CA1031
            {
                done.SetException(error);
            }
        })
        { IsBackground = true, Name = "open-loop pacer" };
        thread.Start();
        return CompleteAsync(done.Task, states);
    }

    private static async Task CompleteAsync(Task pacing, PairState[] states)
    {
        await pacing.ConfigureAwait(false);
        await Task.WhenAll(states.Select(state => state.Submitting)).ConfigureAwait(false);
    }

    private void Pace(PairState[] states, double interval, long end, CancellationToken ct)
    {
        if (OperatingSystem.IsLinux())
        {
            // The default slack lets the kernel wake a sleeper up to 50 µs late to batch timers.
            _ = SetTimerSlack(PrSetTimerSlack, 1);
        }

        // Every pair has the same interval, so the pairs' envelopes fall due in phase order, round after round.
        for (long round = 0; !ct.IsCancellationRequested; round++)
        {
            bool any = false;
            foreach (PairState state in states)
            {
                long due = state.Phase + (long)(round * interval);
                if (due >= end)
                {
                    continue;
                }

                any = true;
                SleepUntil(due);
                if (due >= state.Pair.MeasureStart && due < state.Pair.MeasureEnd)
                {
                    // The pacer's own lateness only. An envelope that falls due while its pair still awaits an answer
                    // waits for the server, not for the generator: that wait is in its latency, not here. (Until
                    // session 8 it was counted here too, which made a slow server look like a late generator.)
                    state.Pair.SendLateness.Add(Stopwatch.GetTimestamp() - due);
                }

                if (state.TryStartSubmitting())
                {
                    // Runs here up to its first wait (the frame is written on this thread), then on the pool.
                    state.Submitting = SubmitDueAsync(state, interval, end, ct);
                }
            }

            if (!any)
            {
                return;
            }
        }
    }

    /// <summary>Submits what has fallen due, then again whatever fell due while that submission was in flight.</summary>
    private async Task SubmitDueAsync(PairState state, double interval, long end, CancellationToken ct)
    {
        // Usually one or two envelopes at a time: a list sized for the most (1.6 KB) was an eighth of the tool's garbage.
        var batch = new List<(MessageId, byte[])>();
        while (true)
        {
            batch.Clear();
            long now = Stopwatch.GetTimestamp();
            lock (state.Gate)
            {
                long scheduled;
                while (batch.Count < MaxBatch && (scheduled = state.Phase + (long)(state.Next * interval)) <= now && scheduled < end)
                {
                    batch.Add((MessageId.New(), LoadDevice.Envelope(state.Pair.Recipient.DeviceId, payloadBytes, scheduled)));
                    state.Next++;
                }

                if (batch.Count == 0)
                {
                    // Under the lock the pacer takes too: an envelope falling due now either is seen here or finds the pair idle.
                    state.Busy = false;
                    return;
                }
            }

            if (!await submit(state.Pair, batch, ct).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private static void SleepUntil(long due)
    {
        long wait = due - Stopwatch.GetTimestamp();
        if (wait <= 0)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
            return;
        }

        long nanoseconds = (long)(wait * (1_000_000_000.0 / Stopwatch.Frequency));
        var request = new TimeSpec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        // Interrupted by a signal: the caller is simply early, and the next envelope's wait is computed afresh.
        _ = NanoSleep(in request, IntPtr.Zero);
    }

    private const int PrSetTimerSlack = 29;

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in TimeSpec request, IntPtr remaining);

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int SetTimerSlack(int option, nuint nanoseconds);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private sealed class PairState(DevicePair pair, long phase)
    {
        public DevicePair Pair { get; } = pair;

        public long Phase { get; } = phase;

        /// <summary>Index of the next envelope to schedule; read and advanced under the state's lock.</summary>
        public long Next { get; set; }

        /// <summary>Whether a submission loop runs for the pair; under the state's lock.</summary>
        public bool Busy { get; set; }

        public Task Submitting { get; set; } = Task.CompletedTask;

        public Lock Gate { get; } = new();

        public bool TryStartSubmitting()
        {
            lock (Gate)
            {
                if (Busy)
                {
                    return false;
                }

                Busy = true;
                return true;
            }
        }
    }
}
