using System.Diagnostics;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// Writes 4 KiB and syncs it to disk every 10 ms on a thread of its own, and keeps every sync slower than 20 ms:
/// the stalls of the disk that durable commits wait for. Its own writes are a small fraction of a store's at load.
/// </summary>
internal sealed class DiskSyncProbe : IDisposable
{
    private static readonly long Slow = Stopwatch.Frequency / 50;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"telehealth-loadtest-probe-{Environment.ProcessId}");
    private readonly List<(long At, long Ticks)> _stalls = [];
    private readonly Thread _thread;
    private volatile bool _stop;

    public DiskSyncProbe()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "disk sync probe" };
        _thread.Start();
    }

    public int Probes { get; private set; }

    /// <summary>Syncs slower than 20 ms: when each started (Stopwatch timestamp) and how long it took (ticks).</summary>
    public IReadOnlyList<(long At, long Ticks)> Stalls
    {
        get
        {
            lock (_stalls)
            {
                return _stalls.ToList();
            }
        }
    }

    /// <summary>Stops the probe and deletes its file; safe to call again.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        File.Delete(_path);
    }

    private void Run()
    {
        byte[] page = new byte[4096];
        using var file = new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        for (int i = 0; !_stop; i++)
        {
            long start = Stopwatch.GetTimestamp();
            file.Position = i % 256 * page.Length;
            file.Write(page);
            file.Flush(flushToDisk: true);
            long took = Stopwatch.GetTimestamp() - start;
            Probes++;
            if (took > Slow)
            {
                lock (_stalls)
                {
                    _stalls.Add((start, took));
                }
            }

            Thread.Sleep(10);
        }
    }
}
