using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>
/// The host's operator commands: <c>audit verify</c> (exit 0 when the chain verifies, 1 when it does not) and
/// <c>audit export &lt;file&gt;</c> (writes a FHIR Bundle, exit 0; 1 when the chain cannot be read). Exit 2: bad usage,
/// a missing export folder, no key file, or a database that is not reachable or not migrated. The relay options come
/// from the same configuration as the server's (appsettings, environment, <c>--Relay:Key=value</c> after the command).
/// </summary>
internal static class RelayAuditCommand
{
    public const string Name = "audit";

    private const string Usage = "Usage: audit verify | audit export <file>  [--Relay:Key=value ...]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        bool export = args.Length >= 3 && args[1] == "export" && !args[2].StartsWith("--", StringComparison.Ordinal);
        if (!export && args is not [Name, "verify", ..])
        {
            await error.WriteLineAsync(Usage);
            return 2;
        }

        string[] configurationArgs = args[(export ? 3 : 2)..];
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(configurationArgs);
        var options = new RelayOptions();
        builder.Configuration.GetSection("Relay").Bind(options);
        using var meterFactory = new CommandMeterFactory();
        RelayAuditTrail trail;
        IRelayStore store;
        try
        {
            options.Validate();

            // Load only: creating a key here would start a new, empty chain and "verify" it.
            trail = RelayAuditTrail.Open(options, new RelayMetrics(meterFactory), NullLogger.Instance, createKey: false);
            store = options.StorageProvider == RelayStorageProvider.PostgreSql ? new PostgresRelayStore(options.PostgresConnectionString!) : new SqliteRelayStore(options.SqlitePath);
        }
        catch (InvalidOperationException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }

        await using (trail)
        {
            try
            {
                if (!await store.IsReadyAsync(CancellationToken.None))
                {
                    await error.WriteLineAsync("The relay's database is not reachable or its schema is not current; start the relay once to migrate it.");
                    return 2;
                }
            }
            finally
            {
                if (store is IAsyncDisposable disposable)
                {
                    await disposable.DisposeAsync();
                }
            }

            return export ? await ExportAsync(trail, args[2], output, error) : await VerifyAsync(trail, output);
        }
    }

    private static async Task<int> VerifyAsync(RelayAuditTrail trail, TextWriter output)
    {
        AuditVerificationResult result = await trail.VerifyAsync();
        string count = result.RecordCount.ToString(CultureInfo.InvariantCulture);
        await output.WriteLineAsync(result.IsValid
            ? $"valid: {count} records in the audit chain of relay instance {trail.InstanceId}"
            : $"invalid: {result.Problem} at index {result.FirstBadIndex?.ToString(CultureInfo.InvariantCulture)} ({count} records) in the audit chain of relay instance {trail.InstanceId}");
        return result.IsValid ? 0 : 1;
    }

    private static async Task<int> ExportAsync(RelayAuditTrail trail, string file, TextWriter output, TextWriter error)
    {
        // Checked first: the export is recorded before the file is written, and a record of an export nobody got is noise.
        if (!Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(file))))
        {
            await error.WriteLineAsync($"The folder of '{file}' does not exist.");
            return 2;
        }

        string bundle;
        try
        {
            bundle = await trail.ExportFhirAsync();
        }
        catch (TelehealthException ex)
        {
            await error.WriteLineAsync($"The audit trail cannot be exported ({ex.ErrorCode}): {ex.Message}");
            return 1;
        }

        await File.WriteAllTextAsync(file, bundle);
        await output.WriteLineAsync($"exported the audit chain of relay instance {trail.InstanceId} to {Path.GetFullPath(file)}");
        return 0;
    }

    // The command records nothing worth measuring; its meters go nowhere.
    private sealed class CommandMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
