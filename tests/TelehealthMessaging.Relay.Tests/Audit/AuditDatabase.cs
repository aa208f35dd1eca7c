using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>Reaches into a relay's <c>audit_log</c> table behind the relay's back, as someone with database access could.</summary>
internal static class AuditDatabase
{
    public static async Task<List<AuditRow>> RowsAsync(Action<RelayOptions> store)
    {
        await using DbConnection connection = await OpenAsync(store);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = "SELECT chain_id, collection, name, value FROM audit_log ORDER BY chain_id, collection, name;";
        var rows = new List<AuditRow>();
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new AuditRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader[3]));
        }

        return rows;
    }

    public static async Task<int> ExecuteAsync(Action<RelayOptions> store, string sql, params (string Name, object Value)[] parameters)
    {
        await using DbConnection connection = await OpenAsync(store);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            DbParameter parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The record name of a sequence number, as the audit log stores it.</summary>
    public static string RecordName(long sequence) => sequence.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<DbConnection> OpenAsync(Action<RelayOptions> store)
    {
        var options = new RelayOptions();
        store(options);
        DbConnection connection = options.StorageProvider == RelayStorageProvider.PostgreSql
            ? new NpgsqlConnection(options.PostgresConnectionString)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = options.SqlitePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }
}

internal sealed record AuditRow(string Chain, string Collection, string Name, byte[] Value);
