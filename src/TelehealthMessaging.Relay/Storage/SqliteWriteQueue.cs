using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// Runs the relay's frequent writes (envelope submissions, acknowledgements, request nonces) one after another on one
/// dedicated connection and thread, many per transaction: group commit.
/// </summary>
/// <remarks>
/// SQLite admits one writer at a time. With a connection per request, writers that find the lock taken sleep and retry
/// (busy handling), so the file sat idle while requests waited, and every commit paid its own WAL sync. Here the writes
/// queue instead: the writer takes everything queued, runs it in one transaction (one failing write is undone alone: see
/// <see cref="SqliteWriteContext.RunGroup"/>), commits once, and only then completes the callers, so an answer is never
/// sent for a write that is not durable. SQLite calls block, hence a dedicated thread rather than thread-pool threads.
/// </remarks>
internal sealed class SqliteWriteQueue : IDisposable
{
    // Bounds one transaction's duration (and so the latency of the first write in it) under a deep queue.
    private const int MaxWritesPerCommit = 512;

    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _connectionString;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _startGate = new();

    // Set by the writer after each commit; the checkpointer then copies the new WAL pages into the database file.
    private readonly SemaphoreSlim _checkpointDue = new(0, 1);
    private Thread? _thread;
    private Thread? _checkpointer;
    private readonly ManualResetEventSlim _stopping = new();
    private int _disposeCount;

    public SqliteWriteQueue(string connectionString) => _connectionString = connectionString;

    /// <summary>Queues <paramref name="write"/>; the task completes after the transaction that ran it has committed.</summary>
    /// <param name="write">
    /// The write, run on the writer's thread inside the group's transaction. It must act on the database only: when
    /// another write of its group fails, it runs a second time after the transaction is undone.
    /// </param>
    /// <param name="cancellationToken">Cancels the write if it has not started.</param>
    /// <param name="durable">
    /// Whether the commit must reach the disk before the task completes. False only for writes that may be undone by a
    /// power loss without breaking a promise (an acknowledgement: undone, the envelope is delivered again and the
    /// client's duplicate filter drops it). A group of such writes alone commits without waiting for the disk; a group
    /// with any durable write waits, and its sync covers the earlier ones too (the WAL is one file written in order).
    /// </param>
    public Task<T> RunAsync<T>(Func<SqliteWriteContext, T> write, CancellationToken cancellationToken, bool durable = true)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Before starting threads: after disposal the checkpointer's semaphore is gone.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposeCount) == 1, this);
        EnsureStarted();
        var pending = new PendingWrite<T>(write, cancellationToken) { Durable = durable };
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return pending.Task;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeCount, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _thread?.Join();
        _stopping.Set();
        SignalCheckpoint();
        _checkpointer?.Join();
        _checkpointDue.Dispose();
        _stopping.Dispose();
    }

    private void EnsureStarted()
    {
        lock (_startGate)
        {
            if (_thread is null)
            {
                // Background: a store that is never disposed (tests that create one directly) must not keep the process alive.
                _thread = new Thread(Run) { IsBackground = true, Name = "TelehealthMessaging.Relay SQLite writer" };
                _thread.Start();
                _checkpointer = new Thread(Checkpoint) { IsBackground = true, Name = "TelehealthMessaging.Relay SQLite checkpointer" };
                _checkpointer.Start();
            }
        }
    }

    private void Run()
    {
        var batch = new List<PendingWrite>(MaxWritesPerCommit);
        SqliteWriteContext? context = null;
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            Drain(batch);

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                context ??= SqliteWriteContext.Open(_connectionString);
                context.RunGroup(batch);
                foreach (PendingWrite write in batch)
                {
                    write.Complete();
                }

                SignalCheckpoint();
            }
#pragma warning disable CA1031 // Every caller of the group gets the failure; the writer must survive to serve the next group.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (PendingWrite write in batch)
                {
                    write.Fail(ex);
                }

                // The connection may be unusable (disk full, file replaced); the next group opens a new one.
                context?.Dispose();
                context = null;
            }
        }

        context?.Dispose();
    }

    private void SignalCheckpoint()
    {
        if (_checkpointDue.CurrentCount == 0)
        {
            try
            {
                _checkpointDue.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already due.
            }
        }
    }

    /// <summary>
    /// Copies committed WAL pages into the database file on its own connection and thread (a passive checkpoint never
    /// blocks the writer), at most every <see cref="CheckpointInterval"/>. Left to the writer's autocheckpoint, each
    /// copy (tens of MiB and an fsync of the database file) stalled every caller waiting for the next commit. The
    /// writer's autocheckpoint stays as a backstop: it finds little left to copy, and it is what lets the WAL start
    /// again from its beginning instead of growing while writes never pause.
    /// </summary>
    private void Checkpoint()
    {
        SqliteConnection? connection = null;
        try
        {
            while (true)
            {
                _checkpointDue.Wait();
                if (_stopping.IsSet)
                {
                    return;
                }

                try
                {
                    connection ??= OpenCheckpointConnection(_connectionString);
                    using SqliteCommand command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                    command.ExecuteNonQuery();
                }
                catch (SqliteException)
                {
                    // Busy or failing: the next commit asks again, and the writer's autocheckpoint is the backstop.
                    connection?.Dispose();
                    connection = null;
                }

                // Batches copying (each checkpoint ends with an fsync of the database file); returns at once on disposal.
                if (_stopping.Wait(CheckpointInterval))
                {
                    return;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private static SqliteConnection OpenCheckpointConnection(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using SqliteCommand pragma = connection.CreateCommand();
        pragma.CommandText = SqliteRelayStore.ConnectionPragmas;
        pragma.ExecuteNonQuery();
        return connection;
    }

    private void Drain(List<PendingWrite> batch)
    {
        while (batch.Count < MaxWritesPerCommit && _queue.Reader.TryRead(out PendingWrite? write))
        {
            if (!write.CompleteIfCanceled())
            {
                batch.Add(write);
            }
        }
    }

    internal abstract class PendingWrite
    {
        /// <summary>Whether its commit must be on disk before the caller is answered (see <see cref="RunAsync{T}"/>).</summary>
        public bool Durable { get; init; } = true;

        /// <summary>Completes the caller's task as cancelled if its token was cancelled before the write ran; returns whether it did.</summary>
        public abstract bool CompleteIfCanceled();

        /// <summary>Runs the write inside the open transaction, keeping its result or its failure for <see cref="Complete"/>.</summary>
        public abstract void Execute(SqliteWriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception error);

        internal abstract void Discard(Exception error);
    }

    private sealed class PendingWrite<T>(Func<SqliteWriteContext, T> write, CancellationToken cancellationToken) : PendingWrite
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Task => _completion.Task;

        public override bool CompleteIfCanceled()
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            _completion.TrySetCanceled(cancellationToken);
            return true;
        }

        public override void Execute(SqliteWriteContext context) => _result = write(context);

        public override void Complete()
        {
            if (_error is null)
            {
                _completion.TrySetResult(_result!);
            }
            else
            {
                _completion.TrySetException(_error);
            }
        }

        public override void Fail(Exception error) => _completion.TrySetException(error);

        internal override void Discard(Exception error) => _error = error;
    }

    /// <summary>The writer's connection and its prepared statements, reused for every write.</summary>
    /// <remarks>
    /// The statements are SQLite's own (SQLitePCLRaw, the layer under Microsoft.Data.Sqlite, through the connection's
    /// <see cref="SqliteConnection.Handle"/>): prepared once per SQL text, then bound, stepped and reset for every
    /// write. Executing them through <see cref="SqliteCommand"/> created a data reader, a statement enumerator and a
    /// binder per parameter on every execution: about 150 MB of the relay's garbage per 40,000 envelopes, on the one
    /// thread every submission waits for. Errors still surface as <see cref="SqliteException"/>.
    /// </remarks>
    internal sealed class SqliteWriteContext : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly sqlite3 _database;
        private readonly Dictionary<string, Statement> _statements = new(StringComparer.Ordinal);

        // SQLite's default (FULL): in WAL mode every commit syncs the WAL. NORMAL leaves the sync to the next FULL
        // commit or checkpoint; the database stays consistent, only the latest such commits can be lost to a power cut.
        private bool _syncEachCommit = true;

        private SqliteWriteContext(SqliteConnection connection)
        {
            _connection = connection;
            _database = connection.Handle!;
        }

        public static SqliteWriteContext Open(string connectionString)
        {
            var connection = new SqliteConnection(connectionString);
            try
            {
                connection.Open();
                using SqliteCommand pragma = connection.CreateCommand();
                // A larger checkpoint interval copies each page rewritten many times into the database file once.
                // A 64 MiB page cache (default 2 MiB) keeps the indexes every write touches in memory instead of
                // re-reading them from the file on each group: about a fifth more envelopes per second measured.
                // Temporary storage in memory keeps the savepoints' sub-journal there: by default it moves to a file
                // once a write touches more than 64 KiB of pages, and then every page any later write of the group
                // touches was first copied into that file (two write calls a page: a quarter of the writer's CPU at
                // full load).
                pragma.CommandText = SqliteRelayStore.ConnectionPragmas + " PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -65536; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;";
                pragma.ExecuteNonQuery();
                return new SqliteWriteContext(connection);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        /// <summary>Pages this connection has written to the WAL since it opened: what its writes cost in I/O.</summary>
        internal int PagesWritten
        {
            get
            {
                SqliteException.ThrowExceptionForRC(raw.sqlite3_db_status(_database, raw.SQLITE_DBSTATUS_CACHE_WRITE, out int current, out _, 0), _database);
                return current;
            }
        }

        /// <summary>Runs one statement to its end; the number of rows it changed.</summary>
        public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            Statement statement = Bound(sql, parameters);
            try
            {
                while (statement.Step())
                {
                }

                return raw.sqlite3_changes(_database);
            }
            finally
            {
                statement.Reset();
            }
        }

        /// <summary>The first column of the first row, as <see cref="SqliteCommand.ExecuteScalar()"/> would give it.</summary>
        public T Scalar<T>(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            Statement statement = Bound(sql, parameters);
            try
            {
                return SqliteRelayStore.ScalarValue<T>(statement.Step() ? statement.Row.GetValue(0) : null);
            }
            finally
            {
                statement.Reset();
            }
        }

        /// <summary>The first row read by <paramref name="read"/>, or null when there is none.</summary>
        public T? Row<T>(string sql, Func<SqliteWriteRow, T> read, params ReadOnlySpan<(string Name, object? Value)> parameters)
            where T : struct
        {
            Statement statement = Bound(sql, parameters);
            try
            {
                return statement.Step() ? read(statement.Row) : null;
            }
            finally
            {
                statement.Reset();
            }
        }

        public void Dispose()
        {
            // Before the connection goes back to its pool: a statement left open would outlive it there.
            foreach (Statement statement in _statements.Values)
            {
                statement.Dispose();
            }

            _connection.Dispose();
        }

        internal void RunGroup(List<PendingWrite> batch)
        {
            // At a steady low rate many groups hold acknowledgements alone (15 % of about 1,600 groups a second at
            // 5,000 envelopes/s), and each waited for its own disk sync, delaying the submissions queued behind it.
            bool syncThisCommit = batch.Exists(write => write.Durable);
            if (syncThisCommit != _syncEachCommit)
            {
                Execute(syncThisCommit ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
                _syncEachCommit = syncThisCommit;
            }

            // Optimistic first: writes rarely fail, and a savepoint around each one made SQLite copy every page the
            // write changed into the savepoint's sub-journal before changing it (12 % of the writer's CPU at full load).
            // When one does fail, the whole transaction is undone and the group runs again with a savepoint per write,
            // so that only the failing one is undone; writes touch nothing but the database, so running one again
            // gives the same result.
            if (!TryRunGroup(batch, withSavepoints: false))
            {
                TryRunGroup(batch, withSavepoints: true);
            }
        }

        private bool TryRunGroup(List<PendingWrite> batch, bool withSavepoints)
        {
            // BEGIN IMMEDIATE: take the write lock now rather than fail to upgrade a read lock mid-group.
            Execute("BEGIN IMMEDIATE;");
            bool committed = false;
            try
            {
                foreach (PendingWrite write in batch)
                {
                    if (!withSavepoints)
                    {
                        try
                        {
                            write.Execute(this);
                        }
                        catch (Exception ex) when (IsWriteFailure(ex))
                        {
                            return false;
                        }

                        continue;
                    }

                    Execute("SAVEPOINT w;");
                    try
                    {
                        write.Execute(this);
                        Execute("RELEASE w;");
                    }
                    catch (Exception ex) when (IsWriteFailure(ex))
                    {
                        // Only this write is undone; the others in the group still commit.
                        Execute("ROLLBACK TO w;");
                        Execute("RELEASE w;");
                        write.Discard(ex);
                    }
                }

                Execute("COMMIT;");
                committed = true;
                return true;
            }
            finally
            {
                if (!committed && raw.sqlite3_get_autocommit(_database) == 0)
                {
                    Execute("ROLLBACK;");
                }
            }
        }

        private static bool IsWriteFailure(Exception ex) => ex is SqliteException or InvalidOperationException or InvalidCastException or FormatException;

        private Statement Bound(string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            if (!_statements.TryGetValue(sql, out Statement? statement))
            {
                statement = Statement.Prepare(_database, sql);
                _statements.Add(sql, statement);
            }

            statement.Bind(parameters);
            return statement;
        }

        private sealed class Statement : IDisposable
        {
            private readonly sqlite3 _database;
            private readonly sqlite3_stmt _handle;
            private string[] _names = [];
            private int[] _indexes = [];

            private Statement(sqlite3 database, sqlite3_stmt handle)
            {
                _database = database;
                _handle = handle;
                Row = new SqliteWriteRow(handle);
            }

            public SqliteWriteRow Row { get; }

            public static Statement Prepare(sqlite3 database, string sql)
            {
                int rc = raw.sqlite3_prepare_v2(database, sql, out sqlite3_stmt handle, out string tail);
                SqliteException.ThrowExceptionForRC(rc, database);
                if (!string.IsNullOrWhiteSpace(tail))
                {
                    handle.Dispose();
                    throw new InvalidOperationException("The writer runs one SQL statement per call.");
                }

                return new Statement(database, handle);
            }

            /// <summary>Binds the values by name; a statement comes with the same names every time, so they are looked up once.</summary>
            public void Bind(ReadOnlySpan<(string Name, object? Value)> parameters)
            {
                if (!SameNames(parameters))
                {
                    _names = new string[parameters.Length];
                    _indexes = new int[parameters.Length];
                    for (int i = 0; i < parameters.Length; i++)
                    {
                        _names[i] = parameters[i].Name;
                        _indexes[i] = raw.sqlite3_bind_parameter_index(_handle, parameters[i].Name);
                        if (_indexes[i] == 0)
                        {
                            throw new InvalidOperationException("The statement has no parameter of that name.");
                        }
                    }
                }

                for (int i = 0; i < parameters.Length; i++)
                {
                    int rc = parameters[i].Value switch
                    {
                        null or DBNull => raw.sqlite3_bind_null(_handle, _indexes[i]),
                        string text => raw.sqlite3_bind_text16(_handle, _indexes[i], text.AsSpan()),
                        long number => raw.sqlite3_bind_int64(_handle, _indexes[i], number),
                        int number => raw.sqlite3_bind_int64(_handle, _indexes[i], number),
                        bool flag => raw.sqlite3_bind_int64(_handle, _indexes[i], flag ? 1 : 0),
                        byte[] bytes => raw.sqlite3_bind_blob(_handle, _indexes[i], bytes),
                        _ => throw new InvalidCastException("The writer binds text, integers and blobs only."),
                    };
                    SqliteException.ThrowExceptionForRC(rc, _database);
                }
            }

            /// <summary>True for a row, false once done; a failure (a constraint, a full disk) throws <see cref="SqliteException"/>.</summary>
            public bool Step()
            {
                int rc = raw.sqlite3_step(_handle);
                if (rc == raw.SQLITE_ROW)
                {
                    return true;
                }

                if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, _database);
                }

                return false;
            }

            public void Reset()
            {
                // Its error, if any, was reported by Step; reset only rewinds the statement for the next write.
                _ = raw.sqlite3_reset(_handle);
                _ = raw.sqlite3_clear_bindings(_handle);
            }

            public void Dispose() => _handle.Dispose();

            private bool SameNames(ReadOnlySpan<(string Name, object? Value)> parameters)
            {
                if (_names.Length != parameters.Length)
                {
                    return false;
                }

                for (int i = 0; i < parameters.Length; i++)
                {
                    if (!string.Equals(_names[i], parameters[i].Name, StringComparison.Ordinal))
                    {
                        return false;
                    }
                }

                return true;
            }
        }
    }

    /// <summary>The current row of a writer statement, read by column number.</summary>
    internal sealed class SqliteWriteRow(sqlite3_stmt statement)
    {
        public bool IsDBNull(int column) => raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL;

        public long GetInt64(int column) => raw.sqlite3_column_int64(statement, column);

        /// <summary>The column as <see cref="SqliteDataReader.GetValue(int)"/> would give it: long, double, string, byte[] or DBNull.</summary>
        public object GetValue(int column) => raw.sqlite3_column_type(statement, column) switch
        {
            raw.SQLITE_INTEGER => raw.sqlite3_column_int64(statement, column),
            raw.SQLITE_FLOAT => raw.sqlite3_column_double(statement, column),
            raw.SQLITE_TEXT => raw.sqlite3_column_text(statement, column).utf8_to_string(),
            raw.SQLITE_BLOB => raw.sqlite3_column_blob(statement, column).ToArray(),
            _ => DBNull.Value,
        };
    }
}
