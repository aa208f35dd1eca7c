using Microsoft.Data.Sqlite;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Storage;

public sealed class SqliteWriteQueueTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telehealth-write-queue-tests", Guid.NewGuid().ToString("N"));
    private readonly string _connectionString;

    public SqliteWriteQueueTests()
    {
        Directory.CreateDirectory(_folder);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "queue.db"), Pooling = false }.ToString();
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using SqliteCommand create = connection.CreateCommand();
        create.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY);";
        create.ExecuteNonQuery();
    }

    [Fact]
    public async Task A_failing_write_is_undone_alone_and_the_rest_of_its_group_commits()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        // Holds the writer so that the next three writes are taken as one group.
        using var hold = SqliteWriterHold.Start(queue);
        Task<int> first = queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 1)), CancellationToken.None);
        Task<int> failing = queue.RunAsync(
            write =>
            {
                write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 2));
                // A primary-key violation after a successful insert in the same write: both must be undone.
                return write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 1));
            },
            CancellationToken.None);
        Task<int> third = queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 3)), CancellationToken.None);
        hold.Release();

        Assert.True(await hold.Held);
        Assert.Equal(1, await first);
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.Equal(1, await third);
        Assert.Equal([1L, 3L], ReadItems());
    }

    [Fact]
    public async Task A_write_runs_once_unless_another_write_of_its_group_fails_and_then_again_from_the_same_state()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        int counterRuns = 0;
        // Inserts the next id after the largest stored and answers it: a second run from the same state answers the same.
        Func<SqliteWriteQueue.SqliteWriteContext, long> insertNext = write =>
        {
            Interlocked.Increment(ref counterRuns);
            long next = write.Scalar<long>("SELECT coalesce(max(id), 0) + 1 FROM items;");
            write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", next));
            return next;
        };

        using (var hold = SqliteWriterHold.Start(queue))
        {
            Task<long> alone = queue.RunAsync(insertNext, CancellationToken.None);
            hold.Release();
            Assert.True(await hold.Held);
            Assert.Equal(1, await alone);
        }

        Assert.Equal(1, counterRuns);

        using (var hold = SqliteWriterHold.Start(queue))
        {
            Task<long> beside = queue.RunAsync(insertNext, CancellationToken.None);
            Task<int> failing = queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 1)), CancellationToken.None);
            hold.Release();
            Assert.True(await hold.Held);
            Assert.Equal(2, await beside);
            await Assert.ThrowsAsync<SqliteException>(() => failing);
        }

        Assert.Equal(3, counterRuns);
        Assert.Equal([1L, 2L], ReadItems());
    }

    [Fact]
    public async Task Committed_pages_reach_the_database_file_without_waiting_for_the_writers_autocheckpoint()
    {
        string database = Path.Combine(_folder, "queue.db");
        long before = new FileInfo(database).Length;
        using var queue = new SqliteWriteQueue(_connectionString);

        // About 100 pages: far below the writer's autocheckpoint (10,000 pages), so only the checkpointer moves them
        // from the WAL into the database file (which grows only then).
        await queue.RunAsync(write => write.Execute("CREATE TABLE blobs (data BLOB NOT NULL);"), CancellationToken.None);
        for (int i = 0; i < 100; i++)
        {
            await queue.RunAsync(write => write.Execute("INSERT INTO blobs (data) VALUES (zeroblob(4000));"), CancellationToken.None);
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (new FileInfo(database).Length < before + (100 * 4000))
        {
            // The checkpointer runs on its own thread after commits; the deadline bounds the wait.
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }
    }

    [SkippableFact]
    public async Task Writes_grouped_after_one_that_changed_many_pages_write_nothing_to_any_file_before_the_commit()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "counts the writer thread's write calls in /proc/thread-self/io");
        using var queue = new SqliteWriteQueue(_connectionString);
        await queue.RunAsync(
            write =>
            {
                write.Execute("CREATE TABLE blobs (id INTEGER NOT NULL PRIMARY KEY, data BLOB NOT NULL);");
                for (int i = 0; i < 100; i++)
                {
                    write.Execute("INSERT INTO blobs (id, data) VALUES ($i, zeroblob(4000));", ("$i", i));
                }

                return 0;
            },
            CancellationToken.None);

        // Everything queued while the writer is held runs as one group, in one transaction: no commit (whose WAL
        // writes would count) falls between the two counts.
        using var hold = SqliteWriterHold.Start(queue);
        // Changes 100 existing pages inside its savepoint: 400 KB of page images to keep until it is released, beyond
        // the 64 KiB at which SQLite moves a sub-journal kept in memory to a temporary file.
        Task<int> large = queue.RunAsync(write => write.Execute("UPDATE blobs SET data = zeroblob(4001);"), CancellationToken.None);
        Task<long> before = queue.RunAsync(_ => WriteCalls(), CancellationToken.None);
        Task<int>[] small = [.. Enumerable.Range(0, 50).Select(i => queue.RunAsync(write => write.Execute("UPDATE blobs SET data = zeroblob(4002) WHERE id = $i;", ("$i", i)), CancellationToken.None))];
        Task<long> after = queue.RunAsync(_ => WriteCalls(), CancellationToken.None);
        // Fails, so that the group runs again with a savepoint around each write: a group without a failure takes none,
        // and the counts above would be made without any sub-journal.
        Task<int> failing = queue.RunAsync(write => write.Execute("INSERT INTO blobs (id, data) VALUES (0, zeroblob(1));"), CancellationToken.None);
        hold.Release();

        Assert.True(await hold.Held);
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.Equal(100, await large);
        Assert.All(await Task.WhenAll(small), changed => Assert.Equal(1, changed));
        // With the sub-journal in a file, the 50 writes first copied the pages they changed there: 100 write calls
        // (each page and its number).
        Assert.Equal(0, await after - await before);
    }

    [Fact]
    public async Task A_group_of_writes_that_need_not_be_durable_commits_without_waiting_for_the_disk()
    {
        using var queue = new SqliteWriteQueue(_connectionString);

        // PRAGMA synchronous inside the write reads the level its group commits at: 1 = NORMAL (the WAL is synced
        // later, by the next durable commit or a checkpoint), 2 = FULL (synced before the callers are answered).
        Assert.Equal(2L, await queue.RunAsync(write => write.Scalar<long>("PRAGMA synchronous;"), CancellationToken.None));
        Assert.Equal(1L, await queue.RunAsync(write => write.Scalar<long>("PRAGMA synchronous;"), CancellationToken.None, durable: false));
        Assert.Equal(2L, await queue.RunAsync(write => write.Scalar<long>("PRAGMA synchronous;"), CancellationToken.None));
    }

    [Fact]
    public async Task A_group_with_any_durable_write_commits_durably_for_all_of_its_writes()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        using var gate = new ManualResetEventSlim();
        Task<int> holder = queue.RunAsync(_ => gate.Wait(TimeSpan.FromSeconds(10)) ? 0 : -1, CancellationToken.None, durable: false);
        Task<long> relaxed = queue.RunAsync(write => write.Scalar<long>("PRAGMA synchronous;"), CancellationToken.None, durable: false);
        Task<long> durable = queue.RunAsync(write => write.Scalar<long>("PRAGMA synchronous;"), CancellationToken.None);
        gate.Set();

        Assert.Equal(0, await holder);
        Assert.Equal(2L, await relaxed);
        Assert.Equal(2L, await durable);
    }

    [Fact]
    public async Task Values_are_bound_and_read_back_as_written_empty_text_and_blobs_included()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        byte[] blob = [0, 1, 2, 255];

        object[] stored = await queue.RunAsync(
            write =>
            {
                write.Execute("CREATE TABLE IF NOT EXISTS kinds (n INTEGER NULL, t TEXT NULL, b BLOB NULL);");
                write.Execute("INSERT INTO kinds (n, t, b) VALUES ($n, $t, $b);", ("$n", long.MaxValue), ("$t", "ünïcödé ✓"), ("$b", blob));
                write.Execute("INSERT INTO kinds (n, t, b) VALUES ($n, $t, $b);", ("$n", 0), ("$t", string.Empty), ("$b", Array.Empty<byte>()));
                write.Execute("INSERT INTO kinds (n, t, b) VALUES ($n, $t, $b);", ("$n", null), ("$t", null), ("$b", DBNull.Value));
                return new object[]
                {
                    write.Scalar<long>("SELECT n FROM kinds WHERE rowid = 1;"),
                    write.Scalar<string>("SELECT t FROM kinds WHERE rowid = 1;"),
                    write.Scalar<byte[]>("SELECT b FROM kinds WHERE rowid = 1;"),
                    // An empty string and an empty blob are values, not NULL.
                    write.Scalar<long>("SELECT count(*) FROM kinds WHERE t = '' AND b = X'';"),
                    write.Scalar<long>("SELECT count(*) FROM kinds WHERE n IS NULL AND t IS NULL AND b IS NULL;"),
                    write.Row("SELECT n, t FROM kinds WHERE rowid = $r;", row => (row.IsDBNull(0), row.IsDBNull(1)), ("$r", 3)) ?? (false, false),
                    write.Row("SELECT n FROM kinds WHERE rowid = $r;", row => row.GetInt64(0), ("$r", 99)) ?? -1,
                };
            },
            CancellationToken.None);

        Assert.Equal([long.MaxValue, "ünïcödé ✓", blob, 1L, 1L, (true, true), -1L], stored);
    }

    [Fact]
    public async Task A_value_of_a_type_the_writer_does_not_bind_fails_that_write_alone()
    {
        using var queue = new SqliteWriteQueue(_connectionString);

        await Assert.ThrowsAsync<InvalidCastException>(() => queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", Guid.NewGuid())), CancellationToken.None));
        Assert.Equal(1, await queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 5)), CancellationToken.None));
        Assert.Equal([5L], ReadItems());
    }

    [Fact]
    public async Task A_write_after_disposal_is_refused_and_starts_nothing()
    {
        var queue = new SqliteWriteQueue(_connectionString);
        queue.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queue.RunAsync(_ => 0, CancellationToken.None));
    }

    [Fact]
    public void Disposing_twice_is_harmless()
    {
        var queue = new SqliteWriteQueue(_connectionString);
        queue.Dispose();
        queue.Dispose();
    }

    [Fact]
    public async Task A_write_completes_only_once_its_transaction_is_committed()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        long? seenInside = null;

        await queue.RunAsync(
            write =>
            {
                write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 7));
                seenInside = ReadItems().Count; // another connection must not see the uncommitted row
                return 0;
            },
            CancellationToken.None);

        Assert.Equal(0, seenInside);
        Assert.Equal([7L], ReadItems());
    }

    [Fact]
    public async Task A_write_cancelled_before_it_runs_is_not_run()
    {
        using var queue = new SqliteWriteQueue(_connectionString);
        using var cancel = new CancellationTokenSource();
        // The writer checks for a cancellation when it takes a write from the queue, so the write must be queued behind
        // the hold: taken into the holder's group, it would run before the cancellation below.
        using var hold = SqliteWriterHold.Start(queue);
        Task<int> cancelled = queue.RunAsync(write => write.Execute("INSERT INTO items (id) VALUES ($i);", ("$i", 1)), cancel.Token);
        await cancel.CancelAsync();
        hold.Release();

        Assert.True(await hold.Held);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Empty(ReadItems());
    }

    [Fact]
    public async Task Concurrent_writes_all_commit_exactly_once()
    {
        using var queue = new SqliteWriteQueue(_connectionString);

        int[] results = await Task.WhenAll(Enumerable.Range(1, 500).Select(i =>
            Task.Run(() => queue.RunAsync(write => write.Execute("INSERT OR IGNORE INTO items (id) VALUES ($i);", ("$i", ((i - 1) % 250) + 1)), CancellationToken.None))));

        Assert.Equal(250, results.Sum());
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), ReadItems());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private List<long> ReadItems()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using SqliteCommand read = connection.CreateCommand();
        read.CommandText = "SELECT id FROM items ORDER BY id;";
        using SqliteDataReader reader = read.ExecuteReader();
        var items = new List<long>();
        while (reader.Read())
        {
            items.Add(reader.GetInt64(0));
        }

        return items;
    }

    /// <summary>Write calls the current thread has made (Linux).</summary>
    private static long WriteCalls() =>
        long.Parse(File.ReadLines("/proc/thread-self/io").Single(line => line.StartsWith("syscw:", StringComparison.Ordinal))["syscw:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
