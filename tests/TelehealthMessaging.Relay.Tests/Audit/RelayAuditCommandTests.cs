using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>The host's <c>audit verify</c> and <c>audit export</c> commands, run as the real program in a child process.</summary>
public sealed class RelayAuditCommandTests(SqliteStoreTarget target) : IClassFixture<SqliteStoreTarget>
{
    [Fact]
    public async Task Audit_verify_exits_0_on_a_good_database_and_1_on_a_tampered_one_and_export_writes_a_bundle()
    {
        Action<RelayOptions> store = await target.NewStoreAsync();
        var options = new RelayOptions();
        store(options);
        string dataDirectory = "--Relay:DataDirectory=" + options.DataDirectory;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using (RelayServer server = await RelayServer.StartAsync(o =>
        {
            store(o);
            o.TimeProvider = clock;
        }))
        {
            using var client = new RelayTestClient(server.BaseAddress, clock);
            for (int i = 0; i < 3; i++)
            {
                using var device = new TestDevice();
                Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(device)).Status);
            }
        }

        string file = Path.Combine(options.DataDirectory, "audit-export.json");
        (int verifyCode, string verifyOutput) = await RunAsync("audit", "verify", dataDirectory);
        (int exportCode, string exportOutput) = await RunAsync("audit", "export", file, dataDirectory);
        (int afterExportCode, string afterExportOutput) = await RunAsync("audit", "verify", dataDirectory);
        AuditRow row = (await AuditDatabase.RowsAsync(store)).Single(r => r.Collection == "records" && r.Name == AuditDatabase.RecordName(1));
        byte[] edited = (byte[])row.Value.Clone();
        edited[^40] ^= 0x20;
        await AuditDatabase.ExecuteAsync(store, "UPDATE audit_log SET value = @v WHERE chain_id = @c AND collection = 'records' AND name = @n;", ("v", edited), ("c", row.Chain), ("n", row.Name));
        (int tamperedCode, string tamperedOutput) = await RunAsync("audit", "verify", dataDirectory);

        Assert.True(verifyCode == 0, verifyOutput);
        Assert.StartsWith("valid: 3 records", verifyOutput, StringComparison.Ordinal);
        Assert.True(exportCode == 0, exportOutput);
        using (JsonDocument bundle = JsonDocument.Parse(await File.ReadAllTextAsync(file)))
        {
            Assert.Equal("Bundle", bundle.RootElement.GetProperty("resourceType").GetString());
            Assert.Equal(3, bundle.RootElement.GetProperty("entry").GetArrayLength());
        }

        Assert.True(afterExportCode == 0, afterExportOutput);
        Assert.StartsWith("valid: 4 records", afterExportOutput, StringComparison.Ordinal); // the export is in the trail
        Assert.Equal(1, tamperedCode);
        Assert.StartsWith("invalid: RecordModified at index 1 (4 records)", tamperedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_commands_exit_2_on_bad_usage_or_without_a_key_file_and_create_none()
    {
        Action<RelayOptions> store = await target.NewStoreAsync();
        var options = new RelayOptions();
        store(options);

        (int usage, _) = await RunAsync("audit", "rewrite");
        (int noKey, string noKeyOutput) = await RunAsync("audit", "verify", "--Relay:DataDirectory=" + options.DataDirectory);

        Assert.Equal(2, usage);
        Assert.Equal(2, noKey);
        Assert.Contains("No relay audit key file", noKeyOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(options.ResolvedAuditKeyPath));
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TelehealthMessaging.Relay.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, (await output) + (await error));
    }
}
