using Npgsql;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>Provides a fresh, empty relay store per call, so that the same scenarios run against each database.</summary>
public interface IRelayStoreTarget
{
    /// <summary>Creates an empty store and returns the options that point a relay at it.</summary>
    Task<Action<RelayOptions>> NewStoreAsync();
}

/// <summary>A temporary folder per store: the SQLite file and the blobs live there.</summary>
public sealed class SqliteStoreTarget : IRelayStoreTarget, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "telehealth-relay-tests", Guid.NewGuid().ToString("N"));

    public Task<Action<RelayOptions>> NewStoreAsync()
    {
        string folder = Path.Combine(_root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return Task.FromResult<Action<RelayOptions>>(o =>
        {
            o.StorageProvider = RelayStorageProvider.Sqlite;
            o.DataDirectory = folder;
        });
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A new database per store on the server named by TELEHEALTH_TEST_POSTGRES. Without it the tests skip on a
/// developer's machine and fail in CI (CI=true), where .ci/run starts a throwaway server.
/// </summary>
public sealed class PostgresStoreTarget : IRelayStoreTarget, IAsyncLifetime
{
    public const string EnvironmentVariable = "TELEHEALTH_TEST_POSTGRES";

    private readonly List<string> _databases = [];

    // The blob folders of this target's stores, and any other folder its tests ask for: deleted with the databases.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "telehealth-relay-tests", Guid.NewGuid().ToString("N"));

    public static string? ServerConnectionString => Environment.GetEnvironmentVariable(EnvironmentVariable);

    public async Task<Action<RelayOptions>> NewStoreAsync()
    {
        string? server = ServerConnectionString;
        if (string.IsNullOrEmpty(server))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"{EnvironmentVariable} is not set; in CI the PostgreSQL tests must run (.ci/run starts a server).");
            }

            Skip.If(true, $"PostgreSQL tests need {EnvironmentVariable} (a connection string to a server where databases may be created).");
        }

        string database = "relay_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database};", connection);
            await command.ExecuteNonQueryAsync();
        }

        lock (_databases)
        {
            _databases.Add(database);
        }

        string connectionString = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        string blobs = NewFolder();
        return o =>
        {
            o.StorageProvider = RelayStorageProvider.PostgreSql;
            o.PostgresConnectionString = connectionString;
            o.DataDirectory = blobs;
        };
    }

    /// <summary>A folder (not yet created) under this target's temporary root, deleted when the target is disposed.</summary>
    public string NewFolder() => Path.Combine(_root, Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 disposes class fixtures through IAsyncLifetime or IDisposable only,
    // so as an IAsyncDisposable this never ran and every local run left its databases behind.
    public async Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        string? server = ServerConnectionString;
        if (string.IsNullOrEmpty(server) || _databases.Count == 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        foreach (string database in _databases)
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE);", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
