using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Tests.Audit;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests;

/// <summary>The shared scenarios on PostgreSQL, plus what only a shared database can do: several relay instances.</summary>
public sealed class PostgresRelayTests(PostgresStoreTarget target) : RelayScenarioTests(target), IClassFixture<PostgresStoreTarget>
{
    [SkippableFact]
    public async Task An_envelope_submitted_on_one_instance_is_pushed_by_another_without_polling()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer one, RelayTestClient clientOne) = await StartAsync(store: store);
        await using RelayServer _ = one;
        (RelayServer two, RelayTestClient clientTwo) = await StartAsync(store: store);
        await using RelayServer __ = two;
        await two.Services.GetRequiredService<PostgresMailboxListener>().Listening.WaitAsync(Timeout);
        TestDevice alice = await RegisteredAsync(clientOne);
        TestDevice bob = await RegisteredAsync(clientTwo);
        byte[] envelope = bob.SealedEnvelope();

        using ClientWebSocket socket = await clientTwo.ConnectAsync(bob);
        // The session has read its empty mailbox and waits on the signal: only a NOTIFY from instance one can wake it.
        RelayResponse submitted = await clientOne.SubmitAsync(alice, ("cross", bob, envelope));
        var frame = await socket.ReceiveAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, submitted.Status);
        Assert.Equal("cross", frame["id"]!.GetValue<string>());
        Assert.Equal(envelope, Convert.FromBase64String(frame["data"]!.GetValue<string>()));
    }

    [SkippableFact]
    public async Task Submissions_committed_together_are_pushed_as_handed_over_without_reading_the_mailbox_back()
    {
        const int Count = 100;
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.RateLimitPerSecond = 10_000);
        await using RelayServer _ = server;
        // Its first LISTEN wakes every session to read its mailbox once; that read is not what this test is about.
        await server.Services.GetRequiredService<PostgresMailboxListener>().Listening.WaitAsync(Timeout);
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using var handedOver = new CounterReadings(server, "telehealth.relay.pushed_envelopes", RelayMetrics.FromHandover);
        using var readBack = new CounterReadings(server, "telehealth.relay.pushed_envelopes", RelayMetrics.FromMailbox);
        using ClientWebSocket socket = await client.ConnectAsync(bob);
        // One envelope first, so that the session is subscribed and has read its mailbox before the rest is submitted.
        await client.SubmitAsync(alice, ("first", bob, bob.SealedEnvelope()));
        Assert.Equal("first", (await socket.ReceiveAsync(Timeout))["id"]!.GetValue<string>());
        // The counter is added to just after the push the client saw.
        await WaitUntilAsync(() => Task.FromResult(handedOver.Total + readBack.Total == 1));
        long readBefore = readBack.Total;

        // Submitted at once, they queue while the writer commits and then commit together, many to a group; a group's
        // submissions are answered on different threads, so the session is handed them in any order.
        RelayResponse[] submitted = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => client.SubmitAsync(alice, ($"m{i}", bob, bob.SealedEnvelope()))));
        var cursors = new List<long>();
        for (int i = 0; i < Count; i++)
        {
            cursors.Add(long.Parse((await socket.ReceiveAsync(Timeout))["cursor"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        }

        await WaitUntilAsync(() => Task.FromResult(handedOver.Total + readBack.Total == Count + 1));
        Assert.All(submitted, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(Enumerable.Range(2, Count).Select(c => (long)c), cursors);
        Assert.Equal(readBefore, readBack.Total);
    }

    [SkippableFact]
    public async Task Vacuum_leaves_the_pages_of_acknowledged_envelopes_in_the_file_instead_of_truncating_it_under_an_exclusive_lock()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        var options = new RelayOptions();
        store(options);
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.RateLimitPerSecond = 10_000, store);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        string[] ids = Enumerable.Range(0, 100).Select(i => $"m{i}").ToArray();
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ids.Select(id => (id, bob, bob.SealedEnvelope(ciphertextLength: 1024))).ToArray())).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.AcknowledgeAsync(bob, ids)).Status);

        await using var connection = new NpgsqlConnection(options.PostgresConnectionString);
        await connection.OpenAsync();
        await using (var vacuum = new NpgsqlCommand("VACUUM envelopes;", connection))
        {
            await vacuum.ExecuteNonQueryAsync();
        }

        await using var size = new NpgsqlCommand("SELECT pg_relation_size('envelopes'), (SELECT count(*) FROM envelopes);", connection);
        await using NpgsqlDataReader reader = await size.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        // 100 rows of over 1 KB fill a dozen 8-KiB pages; every row is gone, and a truncating vacuum leaves 0 bytes.
        Assert.Equal(0, reader.GetInt64(1));
        Assert.True(reader.GetInt64(0) >= 8 * 8192, $"the table has {reader.GetInt64(0)} bytes left");
    }

    [SkippableFact]
    public async Task Acknowledgements_on_a_new_store_find_envelopes_by_key_instead_of_scanning_the_table()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        var options = new RelayOptions();
        store(options);
        const int Rounds = 8, PerRound = 5;
        string[][] rounds = Enumerable.Range(0, Rounds).Select(r => Enumerable.Range(0, PerRound).Select(i => $"r{r}m{i}").ToArray()).ToArray();
        TestDevice bob;
        // One relay stores the envelopes and stops: a database session publishes its table counters when it ends, so
        // the count read next is complete. (Building the indexes at start scans the table too.)
        (RelayServer first, RelayTestClient client) = await StartAsync(o => o.RateLimitPerSecond = 10_000, store);
        await using (first)
        {
            TestDevice alice = await RegisteredAsync(client);
            bob = await RegisteredAsync(client);
            foreach (string[] ids in rounds)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ids.Select(id => (id, bob, bob.SealedEnvelope())).ToArray())).Status);
            }
        }

        long scansBefore = (await EnvelopeCountersAsync(options.PostgresConnectionString!, "n_tup_ins", Rounds * PerRound)).SequentialScans;

        // Another relay acknowledges them: more acknowledgements than PostgreSQL plans one by one before it keeps a plan
        // for the prepared statement. Made on this small table, that plan was a scan of the whole table, kept as it grew.
        (RelayServer second, RelayTestClient again) = await StartAsync(o => o.RateLimitPerSecond = 10_000, store);
        await using (second)
        {
            foreach (string[] ids in rounds)
            {
                Assert.Equal(HttpStatusCode.OK, (await again.AcknowledgeAsync(bob, ids)).Status);
            }
        }

        long scansAfter = (await EnvelopeCountersAsync(options.PostgresConnectionString!, "n_tup_del", Rounds * PerRound)).SequentialScans;

        Assert.Equal(scansBefore, scansAfter);
    }

    [SkippableFact]
    public async Task Acknowledgements_find_envelopes_by_key_after_vacuum_recorded_the_table_as_empty()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        var options = new RelayOptions();
        store(options);
        const int Stored = 200, Rounds = 8, PerRound = 5;
        TestDevice alice, bob;
        (RelayServer first, RelayTestClient client) = await StartAsync(o => o.RateLimitPerSecond = 10_000, store);
        await using (first)
        {
            alice = await RegisteredAsync(client);
            bob = await RegisteredAsync(client);
            string[] early = Enumerable.Range(0, 100).Select(i => $"early{i}").ToArray();
            Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, early.Select(id => (id, bob, bob.SealedEnvelope(ciphertextLength: 1024))).ToArray())).Status);
            Assert.Equal(HttpStatusCode.OK, (await client.AcknowledgeAsync(bob, early)).Status);
        }

        // What autovacuum does to a queue that has just been emptied: the pages stay (vacuum_truncate off) and the
        // statistics say they hold no rows, until the next analyze. Autovacuum is kept away so that it stays so here.
        await using (var connection = new NpgsqlConnection(options.PostgresConnectionString))
        {
            await connection.OpenAsync();
            foreach (string command in new[] { "ALTER TABLE envelopes SET (autovacuum_enabled = false);", "VACUUM envelopes;" })
            {
                await using var vacuum = new NpgsqlCommand(command, connection);
                await vacuum.ExecuteNonQueryAsync();
            }

            await using var statistics = new NpgsqlCommand("SELECT reltuples, relpages FROM pg_class WHERE oid = 'envelopes'::regclass;", connection);
            await using NpgsqlDataReader reader = await statistics.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetFloat(0) == 0 && reader.GetInt32(1) > 0, $"vacuum recorded {reader.GetFloat(0)} rows in {reader.GetInt32(1)} pages");
        }

        long indexEntriesBefore = (await EnvelopeCountersAsync(options.PostgresConnectionString!, "n_tup_del", 100)).IndexEntriesRead;

        string[][] rounds = Enumerable.Range(0, Rounds).Select(r => Enumerable.Range(0, PerRound).Select(i => $"r{r}m{i}").ToArray()).ToArray();
        (RelayServer second, RelayTestClient again) = await StartAsync(o => o.RateLimitPerSecond = 10_000, store);
        await using (second)
        {
            string[] stored = [.. rounds.SelectMany(ids => ids), .. Enumerable.Range(0, Stored - (Rounds * PerRound)).Select(i => $"kept{i}")];
            foreach (string[] batch in stored.Chunk(100))
            {
                Assert.Equal(HttpStatusCode.OK, (await again.SubmitAsync(alice, batch.Select(id => (id, bob, bob.SealedEnvelope())).ToArray())).Status);
            }

            foreach (string[] ids in rounds)
            {
                Assert.Equal(HttpStatusCode.OK, (await again.AcknowledgeAsync(bob, ids)).Status);
            }
        }

        long indexEntriesAfter = (await EnvelopeCountersAsync(options.PostgresConnectionString!, "n_tup_del", 100 + (Rounds * PerRound))).IndexEntriesRead;

        // By key, the duplicate checks of the 200 new ids read no entry and the acknowledgements one per id (40).
        // Walking the primary key for each acknowledgement read all 200 entries each time; walking the recipient's
        // part of the cursor index, every entry before the id.
        Assert.True(indexEntriesAfter - indexEntriesBefore <= Rounds * PerRound, $"the submissions and acknowledgements read {indexEntriesAfter - indexEntriesBefore} index entries");
    }

    /// <summary>
    /// Waits until the envelopes table's <paramref name="counter"/> reaches <paramref name="expected"/>; returns its
    /// sequential scans and the entries read from its indexes.
    /// </summary>
    private static async Task<(long SequentialScans, long IndexEntriesRead)> EnvelopeCountersAsync(string database, string counter, long expected)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        (long, long) counters = (-1, -1);
        // The relay's sessions have ended; their counters arrive as each ends.
        await WaitUntilAsync(async () =>
        {
            await using var stats = new NpgsqlCommand(
                $"SELECT t.{counter}, t.seq_scan, (SELECT sum(idx_tup_read)::bigint FROM pg_stat_user_indexes i WHERE i.relid = t.relid) FROM pg_stat_user_tables t WHERE t.relname = 'envelopes';",
                connection);
            await using NpgsqlDataReader reader = await stats.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            counters = (reader.GetInt64(1), reader.GetInt64(2));
            return reader.GetInt64(0) == expected;
        });
        return counters;
    }

    [SkippableFact]
    public async Task A_device_revoked_on_one_instance_loses_its_websocket_on_another()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        // Each instance keeps its own audit chain (revocation is audited), so each needs its own key file.
        string keys = target.NewFolder();
        (RelayServer one, RelayTestClient clientOne) = await StartAsync(o => o.AuditKeyPath = Path.Combine(keys, "one"), store);
        await using RelayServer _ = one;
        (RelayServer two, RelayTestClient clientTwo) = await StartAsync(o => o.AuditKeyPath = Path.Combine(keys, "two"), store);
        await using RelayServer __ = two;
        await two.Services.GetRequiredService<PostgresMailboxListener>().Listening.WaitAsync(Timeout);
        var user = UserId.New();
        TestDevice phone = await RegisteredAsync(clientOne, user);
        TestDevice stolen = await RegisteredAsync(clientTwo, user);
        using ClientWebSocket socket = await clientTwo.ConnectAsync(stolen);

        RelayResponse revoked = await clientOne.SendAsync(HttpMethod.Delete, $"/v1/users/{user}/devices/{stolen.DeviceId}", phone);

        Assert.Equal(HttpStatusCode.NoContent, revoked.Status);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.ReceiveCloseAsync(Timeout));
    }

    [SkippableFact]
    public async Task Delivery_across_instances_resumes_after_the_listening_connection_is_killed()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer one, RelayTestClient clientOne) = await StartAsync(store: store);
        await using RelayServer _ = one;
        (RelayServer two, RelayTestClient clientTwo) = await StartAsync(store: store);
        await using RelayServer __ = two;
        PostgresMailboxListener listener = two.Services.GetRequiredService<PostgresMailboxListener>();
        await listener.Listening.WaitAsync(Timeout);
        TestDevice alice = await RegisteredAsync(clientOne);
        TestDevice bob = await RegisteredAsync(clientTwo);
        using ClientWebSocket socket = await clientTwo.ConnectAsync(bob);

        // Kill every LISTEN backend of this database, as a failover or an idle-connection reaper would.
        var options = new RelayOptions();
        store(options);
        await using (var connection = new NpgsqlConnection(options.PostgresConnectionString))
        {
            await connection.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%';", connection);
            Assert.True((long)(await kill.ExecuteScalarAsync())! >= 1);
        }

        // The listener notices, backs off on the relay's clock, and listens again once the clock moves on.
        await WaitUntilAsync(() => Task.FromResult(two.Logs.Lines.Any(l => l.Contains("lost its PostgreSQL connection", StringComparison.Ordinal))));

        // The log line is written just before the listener's delay timer is created on the fake clock, so one advance
        // can land before the timer exists; keep moving the clock until it listens again.
        await WaitUntilAsync(() =>
        {
            if (!listener.Listening.IsCompleted)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
            }

            return Task.FromResult(listener.Listening.IsCompleted);
        });
        await clientOne.SubmitAsync(alice, ("after-failover", bob, bob.SealedEnvelope()));
        var frame = await socket.ReceiveAsync(Timeout);

        Assert.Equal("after-failover", frame["id"]!.GetValue<string>());
    }

    [SkippableFact]
    public async Task A_replayed_nonce_is_refused_by_another_instance()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        (RelayServer one, RelayTestClient clientOne) = await StartAsync(store: store);
        await using RelayServer _ = one;
        (RelayServer two, RelayTestClient clientTwo) = await StartAsync(store: store);
        await using RelayServer __ = two;
        TestDevice alice = await RegisteredAsync(clientOne);

        RelayResponse original = await clientOne.SendAsync(HttpMethod.Get, "/v1/messages", alice);
        RelayResponse replay = await clientTwo.SendAsync(HttpMethod.Get, "/v1/messages", alice, headersOverride: original.SentHeaders);

        Assert.Equal(HttpStatusCode.OK, original.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.Status);
        Assert.Equal("replayed_nonce", replay.ProblemCode());
    }
}
