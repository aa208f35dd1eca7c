using System.Text.Json;
using TelehealthMessaging.LoadTest;

// The relay load tool; run.sh drives it. See LoadSettings.Usage for the options and docs/benchmarks.md for results.
try
{
    if (args is ["serve-ceiling", "--urls", string urls])
    {
        await CeilingServer.RunAsync(urls);
        return 0;
    }

    if (args is ["report", string folder])
    {
        Console.Write(LoadReport.Markdown(LoadReport.Read(folder)));
        return 0;
    }

    if (args is ["profile", string profileFolder])
    {
        Console.Write(LoadReport.ProfileMarkdown(LoadReport.Read(profileFolder)));
        return 0;
    }

    if (args is ["--help"] or ["-h"])
    {
        Console.WriteLine(LoadSettings.Usage);
        return 0;
    }

    LoadSettings settings = LoadSettings.Parse(args);
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };

    await using ILoadTarget target = settings.Mode == "jetstream" ? new JetStreamTarget(settings) : new RelayTarget(settings);
    LoadResult result = await new LoadRun(settings, target, Console.Out).RunAsync(cancel.Token);
    Console.WriteLine(LoadReport.Line(result));
    if (settings.Out is not null)
    {
        await File.WriteAllTextAsync(settings.Out, JsonSerializer.Serialize(result, LoadReport.JsonOptions));
    }

    return 0;
}
catch (ArgumentException error)
{
    Console.Error.WriteLine(error.Message);
    Console.Error.WriteLine(LoadSettings.Usage);
    return 2;
}
#pragma warning disable CA1031 // The tool's last resort: report the failure with an exit code; the target was disposed (its server killed) on the way out.
catch (Exception error)
#pragma warning restore CA1031
{
    Console.Error.WriteLine($"The load run failed: {error}");
    return 1;
}
