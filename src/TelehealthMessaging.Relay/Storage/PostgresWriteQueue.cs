using System.Threading.Channels;
using Npgsql;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// Runs the relay's envelope submissions and acknowledgements on PostgreSQL as group commits: concurrent calls queue,
/// and a writer runs everything queued in one transaction (<see cref="PostgresWriteGroup"/>), then answers each caller
/// with its own outcome once that transaction has committed. Submissions and acknowledgements have a writer each.
/// </summary>
/// <remarks>
/// With a transaction per request, PostgreSQL's CPU went to per-statement and per-transaction overhead (parse/bind,
/// snapshot, commit, WAL flush) on a hundred backends; a group pays that once for many requests. A writer takes what
/// is queued when it is free and never waits for more: while one group commits, the next one forms. One writer for
/// submissions: with two, a group mostly waited for the other's mailbox locks, and the load test measured lower
/// throughput and more CPU per envelope. Acknowledgements take no mailbox lock (they lock the envelope rows they
/// delete, which no submission locks, then removal counters, which no submission writes), so they have their own
/// writer and connection and run while a submission group waits for its commit: in alternating load-test runs that
/// was 4-9 % more envelopes per second than one writer for both.
/// </remarks>
internal sealed class PostgresWriteQueue : IAsyncDisposable
{
    private readonly Writer _submissions;
    private readonly Writer _acknowledgements;

    /// <param name="dataSource">Where the writers take their connections.</param>
    /// <param name="notificationPayload">The NOTIFY payload for a mailbox that received envelopes.</param>
    public PostgresWriteQueue(NpgsqlDataSource dataSource, Func<string, string> notificationPayload)
    {
        _submissions = new Writer(dataSource, notificationPayload);
        _acknowledgements = new Writer(dataSource, notificationPayload);
    }

    /// <summary>Queues a submission; the task completes after the transaction that stored it has committed.</summary>
    public Task<EnvelopeSubmissionOutcome> SubmitAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken) =>
        _submissions.Enqueue(new PendingSubmission(envelopes, now.ToUnixTimeMilliseconds(), expiresAt.ToUnixTimeMilliseconds(), maxPendingPerMailbox, nonce, cancellationToken));

    /// <summary>Queues an acknowledgement; the task completes after the transaction that ran it has committed.</summary>
    public Task<int> AcknowledgeAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken) =>
        _acknowledgements.Enqueue(new PendingAcknowledgement(recipient, ids, rememberUntil.ToUnixTimeMilliseconds(), cancellationToken));

    /// <summary>Stops taking writes, runs those already queued, and waits for the writers to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        await _submissions.DisposeAsync().ConfigureAwait(false);
        await _acknowledgements.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One queue, its writer task and the writer's connection.</summary>
    private sealed class Writer : IAsyncDisposable
    {
        // Bound one transaction's duration (and so the latency of the first write in it) under a deep queue.
        private const int MaxWritesPerGroup = 256;
        private const int MaxEnvelopesPerGroup = 4096;

        private readonly NpgsqlDataSource _dataSource;
        private readonly Func<string, string> _notificationPayload;
        private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _writer;

        public Writer(NpgsqlDataSource dataSource, Func<string, string> notificationPayload)
        {
            _dataSource = dataSource;
            _notificationPayload = notificationPayload;
            _writer = Task.Run(RunAsync);
        }

        public Task<T> Enqueue<T>(PendingWrite<T> write)
        {
            if (write.CancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<T>(write.CancellationToken);
            }

            write.ListenForCancellation();
            if (!_queue.Writer.TryWrite(write))
            {
                write.StopListeningForCancellation();
                return Task.FromException<T>(new ObjectDisposedException(nameof(PostgresRelayStore)));
            }

            return write.Task;
        }

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await _writer.ConfigureAwait(false);
        }

        private async Task RunAsync()
        {
            var group = new List<PendingWrite>(MaxWritesPerGroup);
            NpgsqlConnection? connection = null;
            try
            {
                while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    group.Clear();
                    int envelopes = 0;
                    while (group.Count < MaxWritesPerGroup && envelopes < MaxEnvelopesPerGroup && _queue.Reader.TryRead(out PendingWrite? write))
                    {
                        // A caller that cancelled while queued is answered already and is dropped here.
                        if (write.TryStart())
                        {
                            group.Add(write);
                            envelopes += write.Size;
                        }
                    }

                    if (group.Count > 0)
                    {
                        connection = await RunGroupAsync(connection, group).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        /// <summary>Runs and answers one group; returns the connection for the next group, or null when it was given up.</summary>
        private async Task<NpgsqlConnection?> RunGroupAsync(NpgsqlConnection? connection, List<PendingWrite> group)
        {
            try
            {
                // One long-lived connection: its auto-prepared statements stay prepared from one group to the next.
                connection ??= await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
                await PostgresWriteGroup.RunAsync(connection, group, _notificationPayload).ConfigureAwait(false);
                foreach (PendingWrite write in group)
                {
                    write.Complete();
                }

                return connection;
            }
#pragma warning disable CA1031 // Every caller of the group gets the failure; the writer must survive to serve the next group.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // A statement the server refused leaves the connection open; a lost connection does not.
                bool refusedByServer = ex is PostgresException { IsTransient: false } && connection?.FullState == System.Data.ConnectionState.Open;
                if (connection is not null)
                {
                    // Possibly broken (connection lost, server restarted): a pooled connection that is still healthy
                    // goes back to the pool, a broken one is dropped, and the next group opens one.
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                if (group.Count > 1 && refusedByServer)
                {
                    // The server refused something in the group's data (not the connection, a lock or a deadlock): the
                    // transaction rolled back whole, so each write runs again alone and only the offending one fails.
                    NpgsqlConnection? alone = null;
                    foreach (PendingWrite write in group)
                    {
                        alone = await RunGroupAsync(alone, [write]).ConfigureAwait(false);
                    }

                    return alone;
                }

                foreach (PendingWrite write in group)
                {
                    write.Fail(ex);
                }

                return null;
            }
        }
    }

    /// <summary>A queued write: queued, then either cancelled by its caller or started by the writer, never both.</summary>
    internal abstract class PendingWrite(CancellationToken cancellationToken)
    {
        private const int Queued = 0;
        private const int Running = 1;
        private const int Canceled = 2;

        private int _state;
        private CancellationTokenRegistration _registration;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>How many envelopes the write carries, for the group-size bound.</summary>
        public abstract int Size { get; }

        /// <summary>Answers the caller as cancelled as soon as its token fires, as long as the writer has not started the write.</summary>
        public void ListenForCancellation() =>
            _registration = CancellationToken.Register(static state => ((PendingWrite)state!).Cancel(), this);

        public void StopListeningForCancellation() => _registration.Dispose();

        /// <summary>Claims the write for the writer; false when its caller cancelled first.</summary>
        public bool TryStart()
        {
            if (Interlocked.CompareExchange(ref _state, Running, Queued) != Queued)
            {
                return false;
            }

            // Once running it completes with its group; Unregister does not wait for a callback that lost the race.
            _registration.Unregister();
            return true;
        }

        /// <summary>Answers the caller with the result the group set, after the group committed.</summary>
        public abstract void Complete();

        public abstract void Fail(Exception error);

        private void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, Canceled, Queued) == Queued)
            {
                SetCanceled();
            }
        }

        private protected abstract void SetCanceled();
    }

    internal abstract class PendingWrite<T>(CancellationToken cancellationToken) : PendingWrite(cancellationToken)
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _completion.Task;

        public override void Fail(Exception error) => _completion.TrySetException(error);

        private protected void SetResult(T result) => _completion.TrySetResult(result);

        private protected override void SetCanceled() => _completion.TrySetCanceled(CancellationToken);
    }

    internal sealed class PendingSubmission(IReadOnlyList<RelayEnvelope> envelopes, long now, long expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken)
        : PendingWrite<EnvelopeSubmissionOutcome>(cancellationToken)
    {
        public IReadOnlyList<RelayEnvelope> Envelopes { get; } = envelopes;

        /// <summary>The submission's time (Unix milliseconds): stored_at, and what has expired for the exact count.</summary>
        public long Now { get; } = now;

        public long ExpiresAt { get; } = expiresAt;

        public int MaxPendingPerMailbox { get; } = maxPendingPerMailbox;

        public RelayNonce? Nonce { get; } = nonce;

        public override int Size => Envelopes.Count;

        /// <summary>Set by the group; handed to the caller only after the commit.</summary>
        public EnvelopeSubmissionOutcome? Outcome { get; set; }

        public override void Complete() => SetResult(Outcome ?? throw new InvalidOperationException("The group committed without deciding a submission."));
    }

    internal sealed class PendingAcknowledgement(DeviceId recipient, IReadOnlyList<MessageId> ids, long rememberUntil, CancellationToken cancellationToken)
        : PendingWrite<int>(cancellationToken)
    {
        public DeviceId Recipient { get; } = recipient;

        public IReadOnlyList<MessageId> Ids { get; } = ids;

        /// <summary>Until when (Unix milliseconds) the delivered ids are remembered.</summary>
        public long RememberUntil { get; } = rememberUntil;

        public override int Size => Ids.Count;

        /// <summary>Set by the group: how many of its envelopes this acknowledgement deleted.</summary>
        public int Deleted { get; set; }

        public override void Complete() => SetResult(Deleted);
    }
}
