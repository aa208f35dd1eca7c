using Microsoft.Extensions.Logging;
using Npgsql;
using TelehealthMessaging.Relay;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>Where the clients of a test talk to: an in-memory relay, or the real relay on 127.0.0.1 over SQLite or PostgreSQL.</summary>
public abstract class RelayTarget : IAsyncDisposable
{
    public abstract Task<Uri> StartAsync();

    /// <summary>Stops the relay as a crash would; <see cref="StartAsync"/> starts it again on the same store.</summary>
    public abstract Task KillAsync();

    /// <summary>Makes the relay unreachable for <paramref name="device"/> (the embedded relay is killed for everyone).</summary>
    public virtual Task MakeUnreachableAsync(DeviceId device) => KillAsync();

    /// <summary>Undoes <see cref="MakeUnreachableAsync"/>.</summary>
    public virtual async Task MakeReachableAsync(DeviceId device) => await StartAsync();

    public abstract ValueTask DisposeAsync();
}

public sealed class InMemoryRelayTarget : RelayTarget
{
    private readonly string _name = "client-tests-" + Guid.NewGuid().ToString("N");

    public InMemoryRelay Relay { get; } = new();

    public override Task<Uri> StartAsync()
    {
        InMemoryRelay.Register(_name, Relay);
        return Task.FromResult(new Uri("memory://" + _name));
    }

    public override Task KillAsync()
    {
        InMemoryRelay.Unregister(_name);
        return Task.CompletedTask;
    }

    public override Task MakeUnreachableAsync(DeviceId device)
    {
        Relay.Faults.Partition(device);
        return Task.CompletedTask;
    }

    public override Task MakeReachableAsync(DeviceId device)
    {
        Relay.Faults.Heal(device);
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        InMemoryRelay.Unregister(_name);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The real relay in this process; <paramref name="scheme"/> ws gives WebSocket push, http polling.</summary>
public sealed class EmbeddedRelayTarget(Func<Task<Action<RelayOptions>>> newStore, string scheme) : RelayTarget
{
    private Action<RelayOptions>? _store;
    private EmbeddedRelay? _relay;
    private string _url = "http://127.0.0.1:0";

    public string DataDirectory { get; private set; } = "";

    /// <summary>Receives the relay's log lines when set before <see cref="StartAsync"/>.</summary>
    public CapturedLogs? Logs { get; set; }

    public EmbeddedRelay Relay => _relay ?? throw new InvalidOperationException("Not started.");

    public static EmbeddedRelayTarget Sqlite(string scheme = "ws")
    {
        string folder = Path.Combine(Path.GetTempPath(), "telehealth-client-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        EmbeddedRelayTarget target = null!;
        target = new EmbeddedRelayTarget(
            () =>
            {
                target.DataDirectory = folder;
                return Task.FromResult<Action<RelayOptions>>(o =>
                {
                    o.StorageProvider = RelayStorageProvider.Sqlite;
                    o.DataDirectory = folder;
                });
            },
            scheme);
        return target;
    }

    public static EmbeddedRelayTarget Postgres(string scheme = "ws") => new(PostgresDatabase.CreateAsync, scheme);

    public override async Task<Uri> StartAsync()
    {
        _store ??= await newStore();
        _relay = await EmbeddedRelay.StartAsync(o =>
        {
            _store(o);
            o.RateLimitPerSecond = 10_000;
            o.RateLimitBurst = 10_000;
        }, _url, Logs is null ? null : (Action<ILoggingBuilder>)(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace)));
        _url = _relay.BaseAddress.GetLeftPart(UriPartial.Authority);
        var builder = new UriBuilder(_relay.BaseAddress) { Scheme = scheme };
        return builder.Uri;
    }

    public override async Task KillAsync()
    {
        if (_relay is not null)
        {
            await _relay.KillAsync();
            await _relay.DisposeAsync();
            _relay = null;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        if (_store is not null)
        {
            // What this relay stored goes with it, so that repeated local runs leave no folders or databases behind.
            var options = new RelayOptions();
            _store(options);
            if (options.StorageProvider == RelayStorageProvider.PostgreSql)
            {
                await PostgresDatabase.DropAsync(options.PostgresConnectionString!);
            }

            try
            {
                Directory.Delete(options.DataDirectory!, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}

/// <summary>A fresh database on the server named by TELEHEALTH_TEST_POSTGRES; skips locally without it, fails in CI.</summary>
public static class PostgresDatabase
{
    public const string EnvironmentVariable = "TELEHEALTH_TEST_POSTGRES";

    public static async Task<Action<RelayOptions>> CreateAsync()
    {
        string? server = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(server))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"{EnvironmentVariable} is not set; in CI the PostgreSQL tests must run (.ci/run starts a server).");
            }

            Skip.If(true, $"PostgreSQL tests need {EnvironmentVariable} (a connection string to a server where databases may be created).");
        }

        string database = "client_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database};", connection);
            await command.ExecuteNonQueryAsync();
        }

        string connectionString = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        string blobs = Path.Combine(Path.GetTempPath(), "telehealth-client-tests", database);
        return o =>
        {
            o.StorageProvider = RelayStorageProvider.PostgreSql;
            o.PostgresConnectionString = connectionString;
            o.DataDirectory = blobs;
        };
    }

    /// <summary>Drops the database <paramref name="connectionString"/> names (made by <see cref="CreateAsync"/>).</summary>
    public static async Task DropAsync(string connectionString)
    {
        string database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(EnvironmentVariable));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE);", connection);
        await command.ExecuteNonQueryAsync();
    }
}
