using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// A server under test in its own process (relay, ceiling forwarder or nats-server), so that its CPU time and
/// resident memory are its own and not the load generator's. Reads both from /proc.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    internal static readonly long ClockTicksPerSecond = ReadClockTicks();
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    /// <summary>Raised for each line the process writes (from a reader thread).</summary>
    public event Action<string>? Line;

    /// <summary>The last lines the process wrote, for the error message when it fails to start.</summary>
    public string Tail
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output.TakeLast(20));
            }
        }
    }

    public static ServerProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>A TCP port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until <paramref name="ready"/> answers true, the process exits, or the timeout passes.</summary>
    public async Task WaitReadyAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server process exited with code {_process.ExitCode}:{Environment.NewLine}{Tail}");
            }

            try
            {
                if (await ready(limit.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception error) when (error is HttpRequestException or SocketException or IOException || (error is OperationCanceledException && !limit.IsCancellationRequested))
            {
                // Not listening yet.
            }

            if (limit.IsCancellationRequested)
            {
                throw new TimeoutException($"The server process was not ready within {timeout.TotalSeconds:0} s:{Environment.NewLine}{Tail}");
            }

            await Task.Delay(100, limit.Token).ConfigureAwait(false);
        }
    }

    /// <summary>User plus system CPU time the process has used so far (/proc/pid/stat utime + stime).</summary>
    public TimeSpan CpuTime()
    {
        string stat = File.ReadAllText($"/proc/{Id}/stat");
        // The command name (field 2) may contain spaces; fields after its closing parenthesis are plain.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>Resident set size in bytes (/proc/pid/status VmRSS).</summary>
    public long ResidentBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("VmRSS is missing from /proc/pid/status.");
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }

    private static long ReadClockTicks()
    {
        // USER_HZ is 100 on every mainstream Linux build; getconf confirms it where available.
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            string? text = getconf?.StandardOutput.ReadToEnd().Trim();
            getconf?.WaitForExit();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long hz) && hz > 0 ? hz : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        Line?.Invoke(line);
        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 200)
            {
                _output.RemoveRange(0, 100);
            }
        }
    }
}
