using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>
/// The <see cref="IDataStore"/> behind the relay's <see cref="Compliance.AuditLog"/>: rows of the <c>audit_log</c>
/// table (schema version 3) in the relay's own database, SQLite or PostgreSQL. Every row carries the chain id, so
/// relay instances sharing one PostgreSQL database each see only their own chain.
/// </summary>
/// <remarks>
/// Unlike the client's stores, values are not encrypted: audit records hold ids, enums, times and counts only, and the
/// relay's database is already the place that holds those ids. <see cref="EraseScopeAsync"/> therefore deletes rows
/// and destroys no key. Audit records are write-once (see <see cref="SetAsync"/>).
/// </remarks>
internal sealed class RelayAuditDataStore : IDataStore
{
    // AuditLog writes each record exactly once at the next free position; only heads and checkpoints are replaced.
    private const string WriteOnceCollection = "records";

    private readonly string _chainId;
    private readonly Func<CancellationToken, Task<DbConnection>> _open;
    private readonly bool _postgres;

    private RelayAuditDataStore(string chainId, Func<CancellationToken, Task<DbConnection>> open, bool postgres)
    {
        _chainId = chainId;
        _open = open;
        _postgres = postgres;
    }

    public static RelayAuditDataStore ForSqlite(string chainId, string databasePath)
    {
        string connectionString = SqliteRelayStore.ConnectionStringFor(databasePath);
        return new RelayAuditDataStore(chainId, async ct =>
        {
            var connection = new SqliteConnection(connectionString);
            try
            {
                await connection.OpenAsync(ct).ConfigureAwait(false);
                await using SqliteCommand pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA busy_timeout = 30000;";
                await pragma.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, postgres: false);
    }

    public static RelayAuditDataStore ForPostgres(string chainId, NpgsqlDataSource dataSource) =>
        new(chainId, async ct => await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false), postgres: true);

    public async Task SetAsync(DataRecordKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        bool writeOnce = key.Collection == WriteOnceCollection;
        string sql = writeOnce
            ? "INSERT INTO audit_log (chain_id, scope, collection, name, value) VALUES (@chain, @scope, @collection, @name, @value);"
            : """
              INSERT INTO audit_log (chain_id, scope, collection, name, value) VALUES (@chain, @scope, @collection, @name, @value)
              ON CONFLICT (chain_id, scope, collection, name) DO UPDATE SET value = excluded.value;
              """;
        try
        {
            await ExecuteAsync(sql, key, value.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex) when (writeOnce && IsUniqueViolation(ex))
        {
            // Two writers on one chain (two processes sharing one audit key file): refuse rather than overwrite.
            throw new TelehealthException(
                TelehealthErrorCode.IntegrityCheckFailed,
                "An audit record already exists at this position: another process appends to this relay instance's audit chain.",
                ex);
        }
    }

    public async Task<byte[]?> GetAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        await using DbConnection connection = await _open(cancellationToken).ConfigureAwait(false);
        await using DbCommand command = Command(connection, "SELECT value FROM audit_log WHERE chain_id = @chain AND scope = @scope AND collection = @collection AND name = @name;", key);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public async Task<bool> DeleteAsync(DataRecordKey key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        return await ExecuteAsync("DELETE FROM audit_log WHERE chain_id = @chain AND scope = @scope AND collection = @collection AND name = @name;", key, null, cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string scope, string collection, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        DataRecordNames.Validate(collection, nameof(collection));
        return await ReadNamesAsync($"SELECT name FROM audit_log WHERE chain_id = @chain AND scope = @scope AND collection = @collection ORDER BY name {OrdinalCollation};", scope, collection, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListScopesAsync(CancellationToken cancellationToken = default) =>
        await ReadNamesAsync($"SELECT DISTINCT scope FROM audit_log WHERE chain_id = @chain ORDER BY scope {OrdinalCollation};", null, null, cancellationToken).ConfigureAwait(false);

    public async Task EraseScopeAsync(string scope, CancellationToken cancellationToken = default)
    {
        DataRecordNames.Validate(scope, nameof(scope));
        await using DbConnection connection = await _open(cancellationToken).ConfigureAwait(false);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = "DELETE FROM audit_log WHERE chain_id = @chain AND scope = @scope;";
        Add(command, "chain", _chainId);
        Add(command, "scope", scope);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override string ToString() => $"RelayAuditDataStore {{ Chain = {_chainId} }}";

    // IDataStore promises ordinal order; PostgreSQL would otherwise sort by the database's collation.
    private string OrdinalCollation => _postgres ? "COLLATE \"C\"" : "COLLATE BINARY";

    private static void CheckKey(DataRecordKey key) => DataRecordNames.CheckKey(key, nameof(key));

    private static bool IsUniqueViolation(DbException ex) => ex switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode == 19, // SQLITE_CONSTRAINT
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    private static void Add(DbCommand command, string name, object value)
    {
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private DbCommand Command(DbConnection connection, string sql, DataRecordKey key)
    {
        DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        Add(command, "chain", _chainId);
        Add(command, "scope", key.Scope);
        Add(command, "collection", key.Collection);
        Add(command, "name", key.Name);
        return command;
    }

    private async Task<int> ExecuteAsync(string sql, DataRecordKey key, byte[]? value, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _open(cancellationToken).ConfigureAwait(false);
        await using DbCommand command = Command(connection, sql, key);
        if (value is not null)
        {
            Add(command, "value", value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<string>> ReadNamesAsync(string sql, string? scope, string? collection, CancellationToken cancellationToken)
    {
        await using DbConnection connection = await _open(cancellationToken).ConfigureAwait(false);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        Add(command, "chain", _chainId);
        if (scope is not null)
        {
            Add(command, "scope", scope);
            Add(command, "collection", collection!);
        }

        var names = new List<string>();
        await using DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
