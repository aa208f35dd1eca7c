using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>Runs a program as a real child process and collects its output; killed (with its children) on timeout.</summary>
public static class ChildProcess
{
    /// <summary>The repository's root folder (set at build time by the test project).</summary>
    public static string RepositoryRoot => Metadata("RepositoryRoot");

    /// <summary>The build configuration of this test run (Debug or Release), which the referenced samples share.</summary>
    public static string Configuration => Metadata("Configuration");

    /// <summary>The built assembly of a sample under samples/, for <c>dotnet &lt;dll&gt;</c>.</summary>
    public static string SampleAssembly(string sample)
    {
        string path = Path.Combine(RepositoryRoot, "samples", sample, "bin", Configuration, "net10.0", sample + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The sample is not built (the test project references it, so building the tests builds it): {path}");
    }

    public static async Task<Result> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? standardInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryRoot,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A child `dotnet` must not inherit the test host's MSBuild/test settings.
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(errors, e.Data);
        var elapsed = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} did not exit within {timeout}.\nstdout:\n{Read(output)}\nstderr:\n{Read(errors)}");
        }

        // WaitForExitAsync returns once the output streams are drained as well.
        return new Result(process.ExitCode, Read(output), Read(errors), elapsed.Elapsed);
    }

    private static void Append(StringBuilder target, string? line)
    {
        if (line is not null)
        {
            lock (target)
            {
                target.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder source)
    {
        lock (source)
        {
            return source.ToString();
        }
    }

    private static string Metadata(string key) =>
        typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
            ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");

    public sealed record Result(int ExitCode, string Output, string Errors, TimeSpan Elapsed)
    {
        /// <summary>Everything the process wrote, for assertion messages.</summary>
        public string Describe() => $"exit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\nstdout:\n{Output}\nstderr:\n{Errors}";
    }
}
