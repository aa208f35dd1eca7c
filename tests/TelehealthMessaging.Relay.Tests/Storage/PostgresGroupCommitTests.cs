using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Storage;

/// <summary>
/// The PostgreSQL store's group commit: concurrent submissions share transactions, as do concurrent acknowledgements
/// (each kind has its own writer), and each caller still gets exactly the outcome it would have had alone.
/// </summary>
/// <remarks>
/// A group is formed deterministically by holding its writer: a test connection locks a mailbox row (or an envelope
/// row), a submission to that mailbox (an acknowledgement of that envelope) makes the writer wait for the lock, and
/// everything of that kind queued meanwhile runs as the next group.
/// </remarks>
public sealed class PostgresGroupCommitTests(PostgresStoreTarget target) : IClassFixture<PostgresStoreTarget>, IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ExpiresAt = Now.AddDays(30);

    private readonly List<IAsyncDisposable> _disposables = [];
    private string _connectionString = "";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Concurrent_submissions_to_few_mailboxes_are_each_stored_once_with_gapless_cursors()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] mailboxes = await StoreDevices.RegisterAsync(store, 4);

        // 200 submissions of 3 envelopes each, to mailboxes in varying order, all queued at once.
        List<RelayEnvelope[]> batches = [.. Enumerable.Range(0, 200).Select(i => Enumerable.Range(0, 3).Select(j => Envelope(mailboxes[(i + (j * 3)) % 4], $"m{i}-{j}")).ToArray())];
        EnvelopeSubmissionOutcome[] outcomes = await Task.WhenAll(batches.Select(b => SubmitAsync(store, b))).WaitAsync(Timeout);

        Assert.All(outcomes, o => Assert.Equal(EnvelopeBatchStatus.Stored, o.Status));
        Assert.All(outcomes, o => Assert.Empty(o.DuplicatePositions));
        List<(string Recipient, string Id, long Cursor)> stored = await StoredAsync();
        Assert.Equal(600, stored.Count);
        foreach (DeviceId mailbox in mailboxes)
        {
            List<long> cursors = [.. stored.Where(s => s.Recipient == mailbox.Value).Select(s => s.Cursor).Order()];
            Assert.Equal(Enumerable.Range(1, cursors.Count).Select(c => (long)c), cursors);
        }

        // What each caller was told it appended is exactly what is stored.
        List<(string, string, long)> told = [.. outcomes.SelectMany(o => o.Appended).SelectMany(a => a.Envelopes.Select(e => (a.Recipient.Value, e.Id.Value, e.Cursor)))];
        Assert.Equal(stored.Order(), told.Order());
    }

    [SkippableFact]
    public async Task A_group_gives_each_submission_its_own_outcome_and_stores_only_the_accepted_ones()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] devices = await StoreDevices.RegisterAsync(store, 3);
        (DeviceId bob, DeviceId carol, DeviceId sender) = (devices[0], devices[1], devices[2]);
        var stranger = DeviceId.New();
        const int Limit = 3;
        // Carol's mailbox holds 2 of its 3 before the group.
        await SubmitAsync(store, [Envelope(carol, "c-old-1"), Envelope(carol, "c-old-2")], maxPending: Limit);
        Assert.True(await store.TryUseNonceAsync(sender, "used-before", ExpiresAt, CancellationToken.None));

        EnvelopeSubmissionOutcome[] outcomes;
        await using (WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store))
        {
            Task<EnvelopeSubmissionOutcome>[] queued =
            [
                SubmitAsync(store, [Envelope(bob, "b1"), Envelope(bob, "b2")], Nonce(sender, "n1"), Limit),
                SubmitAsync(store, [Envelope(bob, "replayed")], Nonce(sender, "used-before"), Limit),
                SubmitAsync(store, [Envelope(bob, "to-stranger-too"), Envelope(stranger, "lost")], Nonce(sender, "n2"), Limit),
                // Fits: 2 + 1 = 3.
                SubmitAsync(store, [Envelope(carol, "c-fits")], Nonce(sender, "n3"), Limit),
                // Would be 4: the earlier submission of the same group counts.
                SubmitAsync(store, [Envelope(carol, "c-over")], Nonce(sender, "n4"), Limit),
                // The same nonce as the first submission of the group: a replay.
                SubmitAsync(store, [Envelope(bob, "same-nonce")], Nonce(sender, "n1"), Limit),
                SubmitAsync(store, [Envelope(bob, "b3")], Nonce(sender, "n5"), Limit),
            ];
            await hold.ReleaseAsync();
            outcomes = await Task.WhenAll(queued).WaitAsync(Timeout);
        }

        Assert.Equal(
            [EnvelopeBatchStatus.Stored, EnvelopeBatchStatus.ReplayedNonce, EnvelopeBatchStatus.UnknownRecipient, EnvelopeBatchStatus.Stored, EnvelopeBatchStatus.MailboxFull, EnvelopeBatchStatus.ReplayedNonce, EnvelopeBatchStatus.Stored],
            outcomes.Select(o => o.Status));
        Assert.Equal(stranger, outcomes[2].FailedRecipient);
        Assert.Equal(carol, outcomes[4].FailedRecipient);
        Assert.Equal([("b1", 1L), ("b2", 2L)], Appended(outcomes[0]));
        Assert.Equal([("c-fits", 3L)], Appended(outcomes[3]));
        Assert.Equal([("b3", 3L)], Appended(outcomes[6]));

        List<(string Recipient, string Id, long Cursor)> stored = await StoredAsync();
        Assert.Equal([("b1", 1L), ("b2", 2L), ("b3", 3L)], stored.Where(s => s.Recipient == bob.Value).Select(s => (s.Id, s.Cursor)));
        Assert.Equal(["c-fits", "c-old-1", "c-old-2"], stored.Where(s => s.Recipient == carol.Value).Select(s => s.Id).Order());
        // The refused submissions' nonces stay spent; so do the accepted ones'.
        foreach (string nonce in (string[])["n1", "n2", "n3", "n4", "n5"])
        {
            Assert.False(await store.TryUseNonceAsync(sender, nonce, ExpiresAt, CancellationToken.None), nonce);
        }

        // All of it committed in one transaction: the rows of the group share their inserting transaction id.
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM envelopes WHERE id IN ('b1', 'b2', 'b3', 'c-fits') UNION ALL SELECT xmin FROM nonces WHERE nonce IN ('n1', 'n2', 'n3', 'n4', 'n5')) AS t;"));
    }

    [SkippableFact]
    public async Task Expired_envelopes_do_not_count_towards_the_limit_and_earlier_submissions_of_the_group_do()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId carol = (await StoreDevices.RegisterAsync(store, 1))[0];
        const int Limit = 2;
        // Two envelopes that have expired by the group's time but are not purged: the pending counter still counts them.
        Assert.Equal(EnvelopeBatchStatus.Stored, (await store.SubmitEnvelopesAsync([Envelope(carol, "old-1"), Envelope(carol, "old-2")], Now.AddDays(-2), Now.AddMinutes(-1), Limit, null, CancellationToken.None)).Status);

        EnvelopeSubmissionOutcome[] outcomes;
        await using (WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store))
        {
            Task<EnvelopeSubmissionOutcome>[] queued =
            [
                SubmitAsync(store, [Envelope(carol, "new-1")], maxPending: Limit),
                SubmitAsync(store, [Envelope(carol, "new-2")], maxPending: Limit),
                SubmitAsync(store, [Envelope(carol, "new-3")], maxPending: Limit),
            ];
            await hold.ReleaseAsync();
            outcomes = await Task.WhenAll(queued).WaitAsync(Timeout);
        }

        Assert.Equal([EnvelopeBatchStatus.Stored, EnvelopeBatchStatus.Stored, EnvelopeBatchStatus.MailboxFull], outcomes.Select(o => o.Status));
        Assert.Equal([("new-1", 3L)], Appended(outcomes[0]));
        Assert.Equal([("new-2", 4L)], Appended(outcomes[1]));
        Assert.Equal(["new-1", "new-2"], (await store.FetchEnvelopesAsync(carol, 0, 100, Now, CancellationToken.None)).Select(e => e.Id.Value));
    }

    [SkippableFact]
    public async Task The_same_id_submitted_by_two_callers_in_one_group_is_stored_once_and_is_a_duplicate_for_the_second()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId bob = (await StoreDevices.RegisterAsync(store, 1))[0];

        EnvelopeSubmissionOutcome first, second;
        await using (WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store))
        {
            Task<EnvelopeSubmissionOutcome> a = SubmitAsync(store, [Envelope(bob, "x", 1)]);
            Task<EnvelopeSubmissionOutcome> b = SubmitAsync(store, [Envelope(bob, "x", 2), Envelope(bob, "y")]);
            await hold.ReleaseAsync();
            (first, second) = (await a.WaitAsync(Timeout), await b.WaitAsync(Timeout));
        }

        Assert.Equal(EnvelopeBatchStatus.Stored, first.Status);
        Assert.Empty(first.DuplicatePositions);
        Assert.Equal([("x", 1L)], Appended(first));
        Assert.Equal(EnvelopeBatchStatus.Stored, second.Status);
        Assert.Equal([0], second.DuplicatePositions);
        Assert.Equal([("y", 2L)], Appended(second));
        Assert.Equal([(bob.Value, "x", 1L), (bob.Value, "y", 2L)], await StoredAsync());
        // The first caller's bytes were kept, and both callers were answered from one transaction.
        Assert.Equal(1, await ScalarAsync<int>("SELECT get_byte(data, 0) FROM envelopes WHERE id = 'x';"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(DISTINCT xmin::text) FROM envelopes WHERE id IN ('x', 'y');"));
    }

    [SkippableFact]
    public async Task Acknowledgements_in_one_group_each_get_their_own_count_and_are_remembered()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] devices = await StoreDevices.RegisterAsync(store, 2);
        (DeviceId bob, DeviceId carol) = (devices[0], devices[1]);
        await SubmitAsync(store, [.. Enumerable.Range(1, 5).Select(i => Envelope(bob, $"b{i}")), Envelope(carol, "c1"), Envelope(carol, "c2")]);
        DateTimeOffset rememberUntil = Now.AddDays(30);

        int[] counts;
        int overlapA, overlapB;
        EnvelopeSubmissionOutcome resubmitted;
        await using (WriterHold<int> hold = await HoldAcknowledgementWriterAsync(store))
        {
            Task<int>[] acks =
            [
                store.AcknowledgeEnvelopesAsync(bob, [new("b1"), new("b2"), new("b2")], rememberUntil, CancellationToken.None),
                store.AcknowledgeEnvelopesAsync(bob, [new("b3"), new("never-stored")], rememberUntil, CancellationToken.None),
                // Another device's id in bob's mailbox is not bob's to acknowledge.
                store.AcknowledgeEnvelopesAsync(bob, [new("c1")], rememberUntil, CancellationToken.None),
            ];
            // Two acknowledgements of the same envelope: it is deleted, and counted, once.
            Task<int> a = store.AcknowledgeEnvelopesAsync(carol, [new("c1"), new("c2")], rememberUntil, CancellationToken.None);
            Task<int> b = store.AcknowledgeEnvelopesAsync(carol, [new("c2")], rememberUntil, CancellationToken.None);
            await hold.ReleaseAsync();
            counts = await Task.WhenAll(acks).WaitAsync(Timeout);
            (overlapA, overlapB) = (await a.WaitAsync(Timeout), await b.WaitAsync(Timeout));
            Assert.Equal(1, await hold.Held.WaitAsync(Timeout));
        }

        // Acknowledged, b1 is remembered as delivered: resubmitting it stores nothing.
        resubmitted = await SubmitAsync(store, [Envelope(bob, "b1")]).WaitAsync(Timeout);
        Assert.Equal([2, 1, 0], counts);
        Assert.Equal(2, overlapA + overlapB);
        Assert.Equal([0], resubmitted.DuplicatePositions);
        Assert.Equal(["b4", "b5"], (await store.FetchEnvelopesAsync(bob, 0, 100, Now, CancellationToken.None)).Select(e => e.Id.Value));
        Assert.Empty(await store.FetchEnvelopesAsync(carol, 0, 100, Now, CancellationToken.None));
        Assert.Equal(5L, await ScalarAsync<long>("SELECT count(*) FROM delivered WHERE id <> 'held';"));
        // The removal counters (pending = last cursor - removed) count each deleted envelope once.
        Assert.Equal(
            new[] { (bob.Value, 3L), (carol.Value, 2L) }.OrderBy(r => r.Item1, StringComparer.Ordinal),
            await ReadAsync($"SELECT device_id, removed FROM mailbox_removals WHERE device_id IN ('{bob}', '{carol}') ORDER BY device_id COLLATE \"C\";", r => (r.GetString(0), r.GetInt64(1))));
        Assert.Equal(0, await store.AcknowledgeEnvelopesAsync(bob, [new("b1")], rememberUntil, CancellationToken.None));
        Assert.Equal(EnvelopeBatchStatus.Stored, (await SubmitAsync(store, [Envelope(bob, "b1")])).Status);
        Assert.Equal(["b4", "b5"], (await store.FetchEnvelopesAsync(bob, 0, 100, Now, CancellationToken.None)).Select(e => e.Id.Value));
    }

    [SkippableFact]
    public async Task Acknowledgements_commit_without_waiting_for_the_wal_flush_and_submissions_wait_for_it()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId bob = (await StoreDevices.RegisterAsync(store, 1))[0];
        await SubmitAsync(store, [Envelope(bob, "b1")]);
        DateTimeOffset rememberUntil = Now.AddDays(30);
        using var statements = new StatementCapture(new NpgsqlConnectionStringBuilder(_connectionString).Database!);

        Assert.Equal(1, await store.AcknowledgeEnvelopesAsync(bob, [new("b1")], rememberUntil, CancellationToken.None).WaitAsync(Timeout));
        string[] acknowledgement = statements.Take();
        Assert.Equal(EnvelopeBatchStatus.Stored, (await SubmitAsync(store, [Envelope(bob, "b2")]).WaitAsync(Timeout)).Status);
        string[] submission = statements.Take();

        Assert.Contains(acknowledgement, s => s.Contains("synchronous_commit TO OFF", StringComparison.Ordinal));
        // A submission's commit is the one that must be on disk before its sender is answered.
        Assert.Contains(submission, s => s.Contains("INSERT INTO envelopes", StringComparison.Ordinal));
        Assert.DoesNotContain(submission, s => s.Contains("synchronous_commit", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Acknowledgements_are_not_held_up_by_a_submission_group_waiting_for_a_mailbox_lock()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId bob = (await StoreDevices.RegisterAsync(store, 1))[0];
        await SubmitAsync(store, [Envelope(bob, "b1")]);

        await using WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store);
        Task<EnvelopeSubmissionOutcome> queued = SubmitAsync(store, [Envelope(bob, "b2")]);

        // The acknowledgement writer has its own connection: it deletes b1 while the submissions wait.
        Assert.Equal(1, await store.AcknowledgeEnvelopesAsync(bob, [new("b1")], Now.AddDays(30), CancellationToken.None).WaitAsync(Timeout));
        Assert.False(hold.Held.IsCompleted);
        Assert.False(queued.IsCompleted);
        await hold.ReleaseAsync();
        Assert.Equal(EnvelopeBatchStatus.Stored, (await queued.WaitAsync(Timeout)).Status);
        Assert.Equal(["b2"], (await store.FetchEnvelopesAsync(bob, 0, 100, Now, CancellationToken.None)).Select(e => e.Id.Value));
    }

    [SkippableFact]
    public async Task A_revocation_waits_for_a_submission_holding_the_mailbox_and_deletes_what_it_stored()
    {
        PostgresRelayStore store = await NewStoreAsync();
        var owner = UserId.New();
        var bob = DeviceId.New();
        Assert.Equal(DeviceRegistrationOutcome.Created, await store.RegisterDeviceAsync(new RelayDevice(owner, bob, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(64)), CancellationToken.None));
        await SubmitAsync(store, [Envelope(bob, "b1")]);

        // What a submission group does for bob before its commit: lock the mailbox row, store an envelope, move the cursor.
        await using LockedMailbox submission = await LockRowAsync(bob, "SELECT 1 FROM mailboxes WHERE device_id = $1 FOR UPDATE;");
        await submission.ExecuteAsync("INSERT INTO envelopes (recipient, id, cursor, data, stored_at, expires_at) VALUES ($1, 'b2', 2, '\\x01', 0, 4102444800000);");
        await submission.ExecuteAsync("UPDATE mailboxes SET last_cursor = 2 WHERE device_id = $1;");

        Task<DeviceRevocationOutcome> revocation = store.RevokeDeviceAsync(bob, owner, Now, CancellationToken.None);
        await WaitForLockWaiterAsync();
        await submission.DisposeAsync();

        Assert.Equal(DeviceRevocationOutcome.Revoked, await revocation.WaitAsync(Timeout));
        // Deleted before the submission committed, b2 would have stayed behind for a device that no longer exists.
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM envelopes;"));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM mailboxes;"));
    }

    /// <summary>The SQL Npgsql sends to one database, from its tracing (the store's own data source, unchanged).</summary>
    private sealed class StatementCapture : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly List<string> _statements = [];

        public StatementCapture(string database)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (Equals(activity.GetTagItem("db.namespace") ?? activity.GetTagItem("db.name"), database)
                        && (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) is string text)
                    {
                        lock (_statements)
                        {
                            _statements.Add(text);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>The statements captured since the last call.</summary>
        public string[] Take()
        {
            lock (_statements)
            {
                string[] taken = [.. _statements];
                _statements.Clear();
                return taken;
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    [SkippableFact]
    public async Task Two_store_instances_on_one_database_submit_to_the_same_mailboxes_without_deadlock_or_duplicate_cursors()
    {
        PostgresRelayStore one = await NewStoreAsync();
        PostgresRelayStore two = await OpenStoreAsync(_connectionString);
        DeviceId[] mailboxes = await StoreDevices.RegisterAsync(one, 5);

        // One instance addresses the mailboxes in two opposite orders; ids with an even number are submitted on both.
        List<RelayEnvelope[]> Batches(bool reversed, string own) =>
        [
            .. Enumerable.Range(0, 150).Select(i =>
            {
                DeviceId[] order = reversed ? [.. mailboxes.Reverse()] : mailboxes;
                string id = i % 2 == 0 ? $"shared-{i}" : $"{own}-{i}";
                return new[] { Envelope(order[i % 5], id + "-a"), Envelope(order[(i + 2) % 5], id + "-b"), Envelope(order[(i + 4) % 5], id + "-c") };
            }),
        ];
        List<(PostgresRelayStore Store, RelayEnvelope[] Batch)> submissions =
        [
            .. Batches(reversed: false, "one").Select(b => (one, b)),
            .. Batches(reversed: false, "two").Select(b => (two, b)),
            .. Batches(reversed: true, "two-r").Select(b => (two, b)),
        ];
        EnvelopeSubmissionOutcome[] outcomes = await Task.WhenAll(submissions.Select(s => SubmitAsync(s.Store, s.Batch))).WaitAsync(Timeout);

        Assert.All(outcomes, o => Assert.Equal(EnvelopeBatchStatus.Stored, o.Status));
        List<(string Recipient, string Id, long Cursor)> stored = await StoredAsync();
        foreach (DeviceId mailbox in mailboxes)
        {
            List<long> cursors = [.. stored.Where(s => s.Recipient == mailbox.Value).Select(s => s.Cursor).Order()];
            Assert.Equal(Enumerable.Range(1, cursors.Count).Select(c => (long)c), cursors);
        }

        // Every distinct (recipient, id) is stored once and reported as appended by exactly one caller; each other
        // copy is a duplicate position of its own caller.
        List<(string, string)> distinct = [.. submissions.SelectMany(s => s.Batch).Select(e => (e.Recipient.Value, e.Id.Value)).Distinct().Order()];
        Assert.Equal(distinct, stored.Select(s => (s.Recipient, s.Id)).Order());
        Assert.Equal(distinct, outcomes.SelectMany(o => o.Appended).SelectMany(a => a.Envelopes.Select(e => (a.Recipient.Value, e.Id.Value))).Order());
        Assert.Equal(submissions.Sum(s => s.Batch.Length) - distinct.Count, outcomes.Sum(o => o.DuplicatePositions.Count));
    }

    [SkippableFact]
    public async Task A_caller_cancelled_while_queued_is_answered_at_once_and_nothing_of_it_is_kept()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] devices = await StoreDevices.RegisterAsync(store, 2);
        using var cancellation = new CancellationTokenSource();
        Task<EnvelopeSubmissionOutcome> kept;
        await using (WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store))
        {
            Task<EnvelopeSubmissionOutcome> dropped = store.SubmitEnvelopesAsync([Envelope(devices[0], "dropped")], Now, ExpiresAt, 100, Nonce(devices[1], "dropped-nonce"), cancellation.Token);
            kept = SubmitAsync(store, [Envelope(devices[0], "kept")]);
            await cancellation.CancelAsync();

            // Answered while the writer is still held: it did not wait for its turn.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dropped.WaitAsync(Timeout));
            await hold.ReleaseAsync();
        }

        Assert.Equal(EnvelopeBatchStatus.Stored, (await kept.WaitAsync(Timeout)).Status);
        Assert.Equal(["kept"], (await StoredAsync()).Where(s => s.Recipient == devices[0].Value).Select(s => s.Id));
        Assert.True(await store.TryUseNonceAsync(devices[1], "dropped-nonce", ExpiresAt, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_caller_cancelled_after_its_group_started_completes_with_the_group()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId bob = (await StoreDevices.RegisterAsync(store, 1))[0];
        using var cancellation = new CancellationTokenSource();
        await using WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store, cancellation.Token);

        // The held submission is running (waiting for its lock) when its caller gives up.
        await cancellation.CancelAsync();
        Assert.False(hold.Held.IsCompleted);
        await hold.ReleaseAsync();

        Assert.Equal(EnvelopeBatchStatus.Stored, (await hold.Held.WaitAsync(Timeout)).Status);
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM envelopes WHERE id = 'held';"));
        Assert.Equal(EnvelopeBatchStatus.Stored, (await SubmitAsync(store, [Envelope(bob, "after")])).Status);
    }

    [SkippableFact]
    public async Task A_failed_group_fails_each_of_its_callers_and_the_next_group_succeeds()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] devices = await StoreDevices.RegisterAsync(store, 2);
        await SubmitAsync(store, [Envelope(devices[0], "pending")]);
        WriterHold<EnvelopeSubmissionOutcome> first = await HoldWriterAsync(store);
        await using WriterHold<EnvelopeSubmissionOutcome> _ = first;
        // A second lock the next group will wait for, taken before the first hold is released.
        await using LockedMailbox second = await LockMailboxAsync(store);

        Task<EnvelopeSubmissionOutcome> waits = SubmitAsync(store, [Envelope(second.Mailbox, "waits")]);
        Task<EnvelopeSubmissionOutcome> other = SubmitAsync(store, [Envelope(devices[1], "other")], Nonce(devices[0], "failed-nonce"));
        await first.ReleaseAsync();
        Assert.Equal(EnvelopeBatchStatus.Stored, (await first.Held.WaitAsync(Timeout)).Status);

        // The writer now waits on the second lock with both in its group; its connection dies.
        int writer = await WaitForLockWaiterAsync();
        Assert.True(await ScalarAsync<bool>($"SELECT pg_terminate_backend({writer});"));

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => waits.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => other.WaitAsync(Timeout));
        await second.DisposeAsync();
        // Nothing of the failed group is kept, and the writer serves the next group on a new connection.
        Assert.DoesNotContain(await StoredAsync(), s => s.Id is "waits" or "other");
        Assert.Equal(["pending"], (await store.FetchEnvelopesAsync(devices[0], 0, 100, Now, CancellationToken.None)).Select(e => e.Id.Value));
        Assert.True(await store.TryUseNonceAsync(devices[0], "failed-nonce", ExpiresAt, CancellationToken.None));
        Assert.Equal(EnvelopeBatchStatus.Stored, (await SubmitAsync(store, [Envelope(devices[1], "other")]).WaitAsync(Timeout)).Status);
        Assert.Equal(1, await store.AcknowledgeEnvelopesAsync(devices[0], [new("pending")], ExpiresAt, CancellationToken.None).WaitAsync(Timeout));
    }

    [SkippableFact]
    public async Task A_submission_the_database_rejects_fails_alone_and_the_rest_of_its_group_is_stored()
    {
        PostgresRelayStore store = await NewStoreAsync();
        DeviceId[] devices = await StoreDevices.RegisterAsync(store, 2);
        Task<EnvelopeSubmissionOutcome> before, rejected, after;
        await using (WriterHold<EnvelopeSubmissionOutcome> hold = await HoldWriterAsync(store))
        {
            before = SubmitAsync(store, [Envelope(devices[0], "before")], Nonce(devices[1], "fine-1"));
            // PostgreSQL text cannot hold a NUL character; the server refuses the statement that carries it.
            rejected = SubmitAsync(store, [Envelope(devices[0], "rejected")], Nonce(devices[1], "bad\0nonce"));
            after = SubmitAsync(store, [Envelope(devices[0], "after")], Nonce(devices[1], "fine-2"));
            await hold.ReleaseAsync();
        }

        Assert.Equal(EnvelopeBatchStatus.Stored, (await before.WaitAsync(Timeout)).Status);
        await Assert.ThrowsAsync<PostgresException>(() => rejected.WaitAsync(Timeout));
        Assert.Equal(EnvelopeBatchStatus.Stored, (await after.WaitAsync(Timeout)).Status);
        Assert.Equal(["after", "before"], (await StoredAsync()).Where(s => s.Recipient == devices[0].Value).Select(s => s.Id).Order());
        Assert.False(await store.TryUseNonceAsync(devices[1], "fine-1", ExpiresAt, CancellationToken.None));
        Assert.False(await store.TryUseNonceAsync(devices[1], "fine-2", ExpiresAt, CancellationToken.None));
    }

    private static RelayEnvelope Envelope(DeviceId recipient, string id, byte first = 0)
    {
        byte[] data = RandomNumberGenerator.GetBytes(16);
        data[0] = first;
        return new RelayEnvelope(new MessageId(id), recipient, data);
    }

    private static RelayNonce Nonce(DeviceId device, string value) => new(device, value, ExpiresAt);

    private static Task<EnvelopeSubmissionOutcome> SubmitAsync(PostgresRelayStore store, IReadOnlyList<RelayEnvelope> envelopes, RelayNonce? nonce = null, int maxPending = 1000) =>
        store.SubmitEnvelopesAsync(envelopes, Now, ExpiresAt, maxPending, nonce, CancellationToken.None);

    private static List<(string, long)> Appended(EnvelopeSubmissionOutcome outcome) =>
        [.. outcome.Appended.SelectMany(a => a.Envelopes).Select(e => (e.Id.Value, e.Cursor))];

    private async Task<PostgresRelayStore> NewStoreAsync()
    {
        var options = new RelayOptions();
        (await target.NewStoreAsync())(options);
        _connectionString = options.PostgresConnectionString!;
        return await OpenStoreAsync(_connectionString);
    }

    private async Task<PostgresRelayStore> OpenStoreAsync(string connectionString)
    {
        var store = new PostgresRelayStore(connectionString);
        _disposables.Add(store);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Locks a new device's mailbox row from a test connection until disposed.</summary>
    private async Task<LockedMailbox> LockMailboxAsync(PostgresRelayStore store) =>
        await LockRowAsync((await StoreDevices.RegisterAsync(store, 1))[0], "SELECT 1 FROM mailboxes WHERE device_id = $1 FOR UPDATE;");

    /// <summary>Locks the one row <paramref name="selectForUpdate"/> (given the mailbox as $1) selects, until disposed.</summary>
    private async Task<LockedMailbox> LockRowAsync(DeviceId mailbox, string selectForUpdate)
    {
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand(selectForUpdate, connection, transaction) { Parameters = { new() { Value = mailbox.Value } } })
        {
            Assert.Equal(1, (int)(await command.ExecuteScalarAsync())!);
        }

        return new LockedMailbox(mailbox, connection, transaction);
    }

    /// <summary>Makes the writer wait for a locked mailbox, so that whatever is queued next runs as one group.</summary>
    private async Task<WriterHold<EnvelopeSubmissionOutcome>> HoldWriterAsync(PostgresRelayStore store, CancellationToken cancellationToken = default)
    {
        LockedMailbox locked = await LockMailboxAsync(store);
        Task<EnvelopeSubmissionOutcome> held = store.SubmitEnvelopesAsync([Envelope(locked.Mailbox, "held")], Now, ExpiresAt, 1000, null, cancellationToken);
        await WaitForLockWaiterAsync();
        return new WriterHold<EnvelopeSubmissionOutcome>(locked, held);
    }

    /// <summary>
    /// Makes the acknowledgement writer wait for an envelope row locked by a test connection, so that whatever
    /// acknowledgements are queued next run as one group.
    /// </summary>
    private async Task<WriterHold<int>> HoldAcknowledgementWriterAsync(PostgresRelayStore store)
    {
        DeviceId mailbox = (await StoreDevices.RegisterAsync(store, 1))[0];
        await SubmitAsync(store, [Envelope(mailbox, "held")]);
        LockedMailbox locked = await LockRowAsync(mailbox, "SELECT 1 FROM envelopes WHERE recipient = $1 AND id = 'held' FOR UPDATE;");
        Task<int> held = store.AcknowledgeEnvelopesAsync(mailbox, [new("held")], ExpiresAt, CancellationToken.None);
        await WaitForLockWaiterAsync();
        return new WriterHold<int>(locked, held);
    }

    /// <summary>Waits until a backend of the test database waits for a row lock; returns its process id.</summary>
    private async Task<int> WaitForLockWaiterAsync()
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + Timeout;
        while (true)
        {
            List<int> waiting = await ReadAsync("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock';", r => r.GetInt32(0));
            if (waiting.Count == 1)
            {
                return waiting[0];
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, "The writer never waited for the locked mailbox.");
            // Polls a condition the server reports; no outcome depends on the interval.
            await Task.Delay(10);
        }
    }

    private async Task<List<(string Recipient, string Id, long Cursor)>> StoredAsync() =>
        await ReadAsync("SELECT recipient, id, cursor FROM envelopes WHERE id <> 'held' ORDER BY recipient COLLATE \"C\", cursor;", r => (r.GetString(0), r.GetString(1), r.GetInt64(2)));

    private async Task<List<T>> ReadAsync<T>(string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A row of a mailbox (the mailbox row, or one of its envelopes) locked by a test transaction until disposed.</summary>
    private sealed class LockedMailbox(DeviceId mailbox, NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        private bool _released;

        public DeviceId Mailbox { get; } = mailbox;

        /// <summary>Runs <paramref name="sql"/> (given the mailbox as $1) in the locking transaction.</summary>
        public async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction) { Parameters = { new() { Value = Mailbox.Value } } };
            await command.ExecuteNonQueryAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_released)
            {
                _released = true;
                await transaction.CommitAsync();
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>A writer waiting for a row a test connection holds locked, until released.</summary>
    /// <typeparam name="T">The answer of the write it is held on (a submission's outcome, an acknowledgement's count).</typeparam>
    private sealed class WriterHold<T>(LockedMailbox locked, Task<T> held) : IAsyncDisposable
    {
        public DeviceId Mailbox => locked.Mailbox;

        /// <summary>The write the writer is held on.</summary>
        public Task<T> Held { get; } = held;

        public ValueTask ReleaseAsync() => locked.DisposeAsync();

        public ValueTask DisposeAsync() => locked.DisposeAsync();
    }
}
