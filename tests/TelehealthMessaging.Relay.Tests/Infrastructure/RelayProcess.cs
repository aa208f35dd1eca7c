using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>
/// The runnable relay host (Program.cs) as a real child process, <c>dotnet TelehealthMessaging.Relay.dll</c> from this
/// test assembly's output folder, so that a test can kill it outright (SIGKILL: no shutdown, no flush) and start it
/// again on the same port and store.
/// </summary>
internal sealed class RelayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private RelayProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>A loopback port that was free a moment ago; the relay binds it again after each restart.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Command-line configuration for the host equivalent to what <paramref name="configure"/> sets on <see cref="RelayOptions"/>.</summary>
    public static List<string> Arguments(Action<RelayOptions> configure)
    {
        var options = new RelayOptions();
        configure(options);
        var arguments = new List<string>
        {
            "--Relay:StorageProvider=" + options.StorageProvider.ToString(),
            "--Relay:DataDirectory=" + Path.GetFullPath(options.DataDirectory),
        };
        if (options.PostgresConnectionString is not null)
        {
            arguments.Add("--Relay:PostgresConnectionString=" + options.PostgresConnectionString);
        }

        return arguments;
    }

    /// <summary>Starts the host on 127.0.0.1:<paramref name="port"/> and returns once /ready answers 200.</summary>
    public static async Task<RelayProcess> StartAsync(int port, IEnumerable<string> arguments, TimeSpan timeout)
    {
        string relayDll = Path.Combine(AppContext.BaseDirectory, "TelehealthMessaging.Relay.dll");
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(relayDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseAddress.ToString().TrimEnd('/'));
        start.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var relay = new RelayProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."), baseAddress);
        relay._process.OutputDataReceived += (_, e) => relay.Keep(e.Data);
        relay._process.ErrorDataReceived += (_, e) => relay.Keep(e.Data);
        relay._process.BeginOutputReadLine();
        relay._process.BeginErrorReadLine();
        try
        {
            await relay.WaitReadyAsync(timeout);
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL, then waits for the process to be gone, so that its port is free for the restart.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The relay exited with code {_process.ExitCode}: {Tail()}");
            }

            try
            {
                using HttpResponseMessage ready = await http.GetAsync("/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The relay was not ready within {timeout}: {Tail()}");
            }

            // Polling a condition: the host offers no start-up event to a parent process other than its output.
            await Task.Delay(50);
        }
    }

    private string Tail()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output.TakeLast(20));
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
