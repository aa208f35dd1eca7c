using TelehealthMessaging.Client.Tests.Infrastructure;

namespace TelehealthMessaging.Client.Tests.Samples;

/// <summary>The interactive consoles start, open their encrypted store and leave cleanly when their input ends.</summary>
public sealed class ConsoleSampleTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telehealth-console-tests", Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData("PatientConsole", "patient-42 (Patient)")]
    [InlineData("ClinicianConsole", "dr-kim (Clinician)")]
    public async Task Console_opens_its_encrypted_store_and_exits_0_when_stdin_closes(string sample, string banner)
    {
        ChildProcess.Result run = await RunAsync(sample, "help\n", "correct horse");

        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains(banner, run.Output, StringComparison.Ordinal);
        Assert.Contains("quit", run.Output, StringComparison.Ordinal);
        Assert.EndsWith("Bye.", run.Output.TrimEnd(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_folder, "store.header")), "The store was not created.");
    }

    [Theory]
    [InlineData("PatientConsole")]
    [InlineData("ClinicianConsole")]
    public async Task Console_refuses_a_wrong_passphrase_with_exit_code_2(string sample)
    {
        Assert.Equal(0, (await RunAsync(sample, "", "correct horse")).ExitCode);

        ChildProcess.Result run = await RunAsync(sample, "", "wrong horse");

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains("does not open with this passphrase", run.Errors, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    // Port 9 (discard) has no relay: the console keeps connecting in the background, which must not hold up quitting.
    private Task<ChildProcess.Result> RunAsync(string sample, string input, string passphrase) =>
        ChildProcess.RunAsync(
            "dotnet",
            [ChildProcess.SampleAssembly(sample), "--relay", "http://127.0.0.1:9", "--data", _folder],
            TimeSpan.FromMinutes(1),
            environment: new Dictionary<string, string?> { ["TELEHEALTH_PASSPHRASE"] = passphrase },
            standardInput: input);
}
