using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Storage;

/// <summary>The SQLite store's schema: what its migrations keep, and what storing an envelope costs in pages.</summary>
public sealed class SqliteRelayStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ExpiresAt = Now.AddDays(30);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telehealth-sqlite-store-tests", Guid.NewGuid().ToString("N"));

    public SqliteRelayStoreTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_store_migrated_from_version_4_keeps_its_pending_envelopes_their_cursors_and_its_delivered_ids()
    {
        string path = Path.Combine(_folder, "relay.db");
        DeviceId bob = DeviceId.New();
        byte[] first = RandomNumberGenerator.GetBytes(64);
        byte[] second = RandomNumberGenerator.GetBytes(64);
        await using (var connection = new SqliteConnection(SqliteRelayStore.ConnectionStringFor(path)))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY);");
            for (int version = 1; version <= 4; version++)
            {
                await ExecuteAsync(connection, SqliteRelayStore.Migrations[version - 1]);
                await ExecuteAsync(connection, $"INSERT INTO schema_migrations (version) VALUES ({version});");
            }

            await ExecuteAsync(
                connection,
                """
                INSERT INTO devices (device_id, user_id, identity_key, agreement_key, agreement_key_signature) VALUES ($d, 'u', x'01', x'02', x'03');
                INSERT INTO mailboxes (device_id, last_cursor) VALUES ($d, 3);
                INSERT INTO envelopes (recipient, id, cursor, data, stored_at, expires_at) VALUES ($d, 'pending-2', 2, $b1, $now, $exp);
                INSERT INTO envelopes (recipient, id, cursor, data, stored_at, expires_at) VALUES ($d, 'pending-3', 3, $b2, $now, $exp);
                INSERT INTO delivered (recipient, id, expires_at) VALUES ($d, 'delivered-1', $exp);
                """,
                ("$d", bob.Value),
                ("$b1", first),
                ("$b2", second),
                ("$now", Now.ToUnixTimeMilliseconds()),
                ("$exp", ExpiresAt.ToUnixTimeMilliseconds()));
        }

        using var store = new SqliteRelayStore(path);
        await store.MigrateAsync(CancellationToken.None);

        IReadOnlyList<RelayPendingEnvelope> pending = await store.FetchEnvelopesAsync(bob, 0, 10, Now, CancellationToken.None);
        Assert.Equal([2L, 3L], pending.Select(e => e.Cursor));
        Assert.Equal(["pending-2", "pending-3"], pending.Select(e => e.Id.Value));
        Assert.Equal(first, pending[0].Data);
        Assert.Equal(second, pending[1].Data);

        // The delivered id and a pending one are still recognised on resubmission; a new one follows the last cursor.
        EnvelopeSubmissionOutcome outcome = await SubmitAsync(store, [Envelope(bob, "delivered-1"), Envelope(bob, "pending-3"), Envelope(bob, "new-4")]);
        Assert.Equal(EnvelopeBatchStatus.Stored, outcome.Status);
        Assert.Equal([0, 1], outcome.DuplicatePositions.Order());
        Assert.Equal([4L], outcome.Appended.Single().Envelopes.Select(e => e.Cursor));

        Assert.Equal(1, await store.AcknowledgeEnvelopesAsync(bob, [new MessageId("pending-2")], ExpiresAt, CancellationToken.None));
        Assert.Equal([3L, 4L], (await store.FetchEnvelopesAsync(bob, 0, 10, Now, CancellationToken.None)).Select(e => e.Cursor));
        Assert.True((await SubmitAsync(store, [Envelope(bob, "pending-2")])).DuplicatePositions.SetEquals([0]));
    }

    [Fact]
    public async Task Acknowledgements_for_many_mailboxes_committed_together_write_one_page_of_delivered_ids_not_one_per_mailbox()
    {
        using var store = new SqliteRelayStore(Path.Combine(_folder, "relay.db"));
        await store.MigrateAsync(CancellationToken.None);
        DeviceId[] mailboxes = await StoreDevices.RegisterAsync(store, 40);
        // Delivered ids are kept for the time to live: after a while every mailbox has pages of them.
        await store.Writes.RunAsync(
            write =>
            {
                foreach (DeviceId mailbox in mailboxes)
                {
                    for (int i = 0; i < 200; i++)
                    {
                        write.Execute("INSERT INTO delivered (recipient, id, expires_at) VALUES ($r, $i, $e);", ("$r", mailbox.Value), ("$i", MessageId.New().Value), ("$e", ExpiresAt.ToUnixTimeMilliseconds()));
                    }
                }

                return 0;
            },
            CancellationToken.None);
        RelayEnvelope[] batch = [.. mailboxes.Select(mailbox => Envelope(mailbox, MessageId.New().Value))];
        Assert.Equal(EnvelopeBatchStatus.Stored, (await SubmitAsync(store, batch)).Status);

        int before = await store.Writes.RunAsync(write => write.PagesWritten, CancellationToken.None);
        Task<int>[] acknowledged;
        // Holds the writer so that the forty acknowledgements queued meanwhile commit as one group, as under load.
        using (SqliteWriterHold hold = SqliteWriterHold.Start(store.Writes))
        {
            acknowledged = [.. batch.Select(envelope => store.AcknowledgeEnvelopesAsync(envelope.Recipient, [envelope.Id], ExpiresAt, CancellationToken.None))];
            hold.Release();
            Assert.True(await hold.Held);
        }

        Assert.All(await Task.WhenAll(acknowledged), deleted => Assert.Equal(1, deleted));
        int written = await store.Writes.RunAsync(write => write.PagesWritten, CancellationToken.None) - before;
        // Keyed by id first, the forty new delivered ids (time-ordered) go next to each other at the end of one B-tree:
        // 22 pages in all. Keyed by recipient first, each went into its recipient's full page and split it: 118.
        Assert.True(written < 60, $"{written} pages written for 40 acknowledgements");
    }

    private static Task<EnvelopeSubmissionOutcome> SubmitAsync(SqliteRelayStore store, RelayEnvelope[] envelopes) =>
        store.SubmitEnvelopesAsync(envelopes, Now, ExpiresAt, 1000, null, CancellationToken.None);

    private static RelayEnvelope Envelope(DeviceId recipient, string id) => new(new MessageId(id), recipient, RandomNumberGenerator.GetBytes(1024));

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
