using TelehealthMessaging.Client.Tests.Infrastructure;

namespace TelehealthMessaging.Client.Tests.Samples;

/// <summary>Acceptance 1: the quickstart, run as a developer runs it, tells the whole story and exits 0.</summary>
public sealed class QuickstartTests
{
    [Fact]
    public async Task Quickstart_tells_the_whole_story_on_the_embedded_relay_and_exits_0()
    {
        ChildProcess.Result run = await ChildProcess.RunAsync("dotnet", [ChildProcess.SampleAssembly("Quickstart")], TimeSpan.FromMinutes(2));

        Assert.True(run.ExitCode == 0, run.Describe());
        string[] story =
        [
            "fills the built-in intake: valid, 2 symptoms",
            "RED FLAG (chest-pain",
            "Call 119 now.",
            "inbox: new intake from patient-42",
            "claims the intake: claim won",
            "claims the intake: refused, already claimed by",
            "reads: Minji Kim, born 1990-02-03",
            "exports it as FHIR R4 QuestionnaireResponse",
            "receives \"How long has the tightness lasted?\"",
            "sees the question Delivered",
            "sees the question Read",
            "sees the reply Read",
            "accepts the callback: claim won",
            "callback is now Scheduled",
            "callback is now InProgress",
            "callback is now Completed",
            "none found: the relay only ever held ciphertext.",
        ];
        foreach (string line in story)
        {
            Assert.True(run.Output.Contains(line, StringComparison.Ordinal), $"Missing \"{line}\" in the transcript; {run.Describe()}");
        }

        // The relay column shows real traffic: three devices and sealed envelopes with their sizes.
        Assert.Matches(@"In total: 3 devices; \d+ sealed envelopes, [\d,]+ bytes\.", run.Output);
        Assert.Equal("", run.Errors);
    }

    [Theory]
    [InlineData("--relay")]
    [InlineData("--relay", "ftp://example.org")]
    [InlineData("--unknown")]
    public async Task Quickstart_rejects_bad_arguments_with_usage_and_exit_code_2(params string[] arguments)
    {
        ChildProcess.Result run = await ChildProcess.RunAsync("dotnet", [ChildProcess.SampleAssembly("Quickstart"), .. arguments], TimeSpan.FromMinutes(1));

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.StartsWith("Usage: Quickstart", run.Errors, StringComparison.Ordinal);
    }
}
