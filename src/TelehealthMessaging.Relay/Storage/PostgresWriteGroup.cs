using Npgsql;
using static TelehealthMessaging.Relay.Storage.PostgresWriteQueue;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// One group commit: many submissions or acknowledgements (each has its writer, <see cref="PostgresWriteQueue"/>; a
/// group may hold both) in one transaction, in at most four round trips whatever the group's size: read (acknowledgements, nonces, mailbox locks, known ids), an exact count only when a mailbox
/// may be near its limit, store (envelopes, cursors, notifications), commit.
/// </summary>
/// <remarks>
/// Each submission is decided in queue order exactly as if it ran alone after the ones before it: its nonce, its
/// recipients, its duplicates (including ids an earlier submission of the group stored for the same recipient), its
/// mailbox limit (counting what earlier ones added). A refusal is a decision, not an error, so it never touches the
/// others. Locks are taken in one order by every writer of every instance (acknowledged envelopes by
/// (recipient, id), nonces by (device, nonce), then mailbox rows by device id), so two instances cannot deadlock, and
/// a mailbox row stays locked until the commit, so cursors grow in commit order.
/// </remarks>
internal static class PostgresWriteGroup
{
    // Each id is looked up by key and its row locked, in the list's order, before the rows are deleted by address. The
    // lookup sits in a LATERAL subquery (LIMIT keeps PostgreSQL from flattening it into a join), so no plan can turn it
    // around: as a DELETE … USING join, once vacuum had found the table empty (statistics: no rows) the planner walked
    // the whole primary key and matched every row against the list, for every group, while the table grew again (seen:
    // acknowledgements taking 1–10 s each and throughput falling to a quarter until the next analyze).
    private const string AcknowledgeSql =
        """
        WITH found AS MATERIALIZED (
            SELECT t.recipient, t.id, t.caller, t.remember_until, e.row_id
            FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[]) AS t(recipient, id, caller, remember_until)
            CROSS JOIN LATERAL (
                SELECT ctid AS row_id FROM envelopes WHERE recipient = t.recipient AND id = t.id LIMIT 1 FOR UPDATE) AS e),
        gone AS (
            DELETE FROM envelopes WHERE ctid = ANY (ARRAY(SELECT row_id FROM found))),
        remembered AS (
            INSERT INTO delivered (recipient, id, expires_at) SELECT recipient, id, remember_until FROM found
            ON CONFLICT (recipient, id) DO UPDATE SET expires_at = excluded.expires_at),
        counted AS (
            INSERT INTO mailbox_removals (device_id, removed) SELECT recipient, count(*) FROM found GROUP BY recipient ORDER BY recipient
            ON CONFLICT (device_id) DO UPDATE SET removed = mailbox_removals.removed + excluded.removed)
        SELECT caller, count(*) FROM found GROUP BY caller;
        """;

    private const string UseNoncesSql =
        """
        INSERT INTO nonces (device_id, nonce, expires_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(device_id, nonce, expires_at) ORDER BY device_id, nonce
        ON CONFLICT DO NOTHING RETURNING device_id, nonce;
        """;

    private const string LockMailboxesSql =
        """
        SELECT m.device_id, m.last_cursor, m.last_cursor - coalesce(r.removed, 0) FROM mailboxes m
        LEFT JOIN mailbox_removals r ON r.device_id = m.device_id
        WHERE m.device_id = ANY($1) ORDER BY m.device_id FOR UPDATE OF m;
        """;

    // A key lookup per envelope, whatever the group's size: with WHERE EXISTS … OR EXISTS, a planner that knows the
    // array holds hundreds of rows hashes the whole delivered table instead (measured: 46 ms instead of 5 for 400
    // envelopes on 75,000 delivered ids); a LATERAL subquery with LIMIT cannot be turned into a hash.
    private const string KnownIdsSql =
        """
        SELECT t.position FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(recipient, id, position)
        CROSS JOIN LATERAL (
            SELECT 1 FROM envelopes e WHERE e.recipient = t.recipient AND e.id = t.id
            UNION ALL
            SELECT 1 FROM delivered d WHERE d.recipient = t.recipient AND d.id = t.id
            LIMIT 1) AS known;
        """;

    private const string CountUnexpiredSql =
        """
        SELECT t.position, (SELECT count(*) FROM envelopes e WHERE e.recipient = t.recipient AND e.expires_at > t.now)
        FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(recipient, now, position);
        """;

    private const string InsertEnvelopesSql =
        """
        INSERT INTO envelopes (recipient, id, cursor, data, stored_at, expires_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[]);
        """;

    private const string AdvanceCursorsSql =
        """
        UPDATE mailboxes m SET last_cursor = t.last_cursor FROM unnest($1::text[], $2::bigint[]) AS t(device_id, last_cursor)
        WHERE m.device_id = t.device_id;
        """;

    private const string NotifySql = "SELECT pg_notify($1, t.payload) FROM unnest($2::text[]) AS t(payload);";

    /// <summary>Runs <paramref name="group"/> in one transaction and sets each write's result; commits unless it throws.</summary>
    public static async Task RunAsync(NpgsqlConnection connection, IReadOnlyList<PendingWrite> group, Func<string, string> notificationPayload)
    {
        List<PendingSubmission> submissions = [.. group.OfType<PendingSubmission>()];
        List<PendingAcknowledgement> acknowledgements = [.. group.OfType<PendingAcknowledgement>()];

        // Not cancellable by any caller: the group answers all of its callers together.
        CancellationToken none = CancellationToken.None;
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(none).ConfigureAwait(false);
        GroupState state = await ReadAsync(connection, transaction, submissions, acknowledgements).ConfigureAwait(false);
        Dictionary<(string, long), long> exactCounts = await CountNearLimitAsync(connection, transaction, submissions, state).ConfigureAwait(false);
        StoreBuilder store = Decide(submissions, state, exactCounts);
        await store.ExecuteAsync(connection, transaction, notificationPayload).ConfigureAwait(false);
        await transaction.CommitAsync(none).ConfigureAwait(false);
    }

    /// <summary>The first round trip: acknowledgements, nonces, mailbox locks and counters, already known ids.</summary>
    private static async Task<GroupState> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSubmission> submissions, List<PendingAcknowledgement> acknowledgements)
    {
        var state = new GroupState(submissions);
        await using var batch = new NpgsqlBatch(connection, transaction);
        // Key lookups whatever the statistics say: the group's statements find their rows by key, and a plan made
        // while a table was new or looked empty scans it instead. PostgreSQL keeps such a plan for a prepared
        // statement while the table grows: seen as acknowledgements taking 12 s each once envelopes held 25,000 pages,
        // and every delivery behind them. Applies to this transaction only.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL enable_seqscan TO off;"));

        // Acknowledgements first: they lock envelope rows, which a revocation also deletes before it deletes the
        // mailbox row; taking envelope rows only before any mailbox row keeps that order the same everywhere. Each
        // envelope is listed once, counted for the first caller that acknowledged it: listed twice, its row would be
        // found twice and inserted into delivered twice by one statement, which ON CONFLICT DO UPDATE refuses.
        var acked = new List<(string Recipient, string Id, int Caller, long RememberUntil)>();
        var listed = new HashSet<(string, string)>();
        for (int caller = 0; caller < acknowledgements.Count; caller++)
        {
            PendingAcknowledgement acknowledgement = acknowledgements[caller];
            acknowledgement.Deleted = 0;
            foreach (MessageId id in acknowledgement.Ids)
            {
                if (listed.Add((acknowledgement.Recipient.Value, id.Value)))
                {
                    acked.Add((acknowledgement.Recipient.Value, id.Value, caller, acknowledgement.RememberUntil));
                }
            }
        }

        // Sorted so that every writer locks rows in one order: the statement locks them in the list's order.
        acked.Sort((a, b) =>
        {
            int byRecipient = string.CompareOrdinal(a.Recipient, b.Recipient);
            return byRecipient != 0 ? byRecipient : string.CompareOrdinal(a.Id, b.Id);
        });
        if (acked.Count > 0)
        {
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                AcknowledgeSql,
                acked.Select(a => a.Recipient).ToArray(),
                acked.Select(a => a.Id).ToArray(),
                acked.Select(a => a.Caller).ToArray(),
                acked.Select(a => a.RememberUntil).ToArray()));
        }

        List<RelayNonce> nonces = [.. submissions.Select(s => s.Nonce).OfType<RelayNonce>()];
        if (nonces.Count > 0)
        {
            // The requests' nonces commit with their submissions: one commit for all of them.
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                UseNoncesSql,
                nonces.Select(n => n.Device.Value).ToArray(),
                nonces.Select(n => n.Value).ToArray(),
                nonces.Select(n => n.ExpiresAt.ToUnixTimeMilliseconds()).ToArray()));
        }

        if (submissions.Count > 0)
        {
            // Locked in one order so that concurrent groups cannot deadlock, and held to the commit so that cursors
            // are assigned in commit order: a reader that has seen cursor N never later finds a new envelope below N.
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                LockMailboxesSql,
                (object)submissions.SelectMany(s => s.Envelopes).Select(e => e.Recipient.Value).Distinct(StringComparer.Ordinal).ToArray()));
            // After the locks (its own snapshot): no other writer can be storing envelopes for these mailboxes now.
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                KnownIdsSql,
                submissions.SelectMany(s => s.Envelopes).Select(e => e.Recipient.Value).ToArray(),
                submissions.SelectMany(s => s.Envelopes).Select(e => e.Id.Value).ToArray()));
        }

        if (acked.Count == 0 && submissions.Count == 0)
        {
            return state;
        }

        if (submissions.Count == 0)
        {
            // Acknowledgements alone need not wait for the WAL flush: a database crash can undo only the latest of them
            // (not yet flushed by a submission's commit, which flushes the WAL before it, or by the WAL writer within
            // a few wal_writer_delay), whose envelopes are then delivered again and dropped by the client's duplicate
            // filter. The acknowledgement writer is not held up by the disk meanwhile.
            // Last in the batch, so the results above are read in the same order; it applies at the commit.
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit TO OFF;"));
        }

        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        if (acked.Count > 0)
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                acknowledgements[reader.GetInt32(0)].Deleted = (int)reader.GetInt64(1);
            }

            await reader.NextResultAsync().ConfigureAwait(false);
        }

        if (nonces.Count > 0)
        {
            var recorded = new HashSet<(string, string)>();
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                recorded.Add((reader.GetString(0), reader.GetString(1)));
            }

            // The same nonce twice in one group is recorded once: the first submission in queue order used it.
            for (int s = 0; s < submissions.Count; s++)
            {
                if (submissions[s].Nonce is { } nonce)
                {
                    state.FreshNonce[s] = recorded.Remove((nonce.Device.Value, nonce.Value));
                }
            }

            await reader.NextResultAsync().ConfigureAwait(false);
        }

        if (submissions.Count > 0)
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                state.Mailboxes[reader.GetString(0)] = new MailboxState(reader.GetInt64(1), reader.GetInt64(2));
            }

            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                state.MarkKnown((int)reader.GetInt64(0) - 1);
            }
        }

        return state;
    }

    /// <summary>
    /// The optional round trip: exact unexpired counts for the mailboxes that may reach their limit. The pending
    /// counters include expired envelopes the purge has not removed yet, so they bound a mailbox from above; which
    /// mailboxes need counting is decided with an upper bound (every earlier envelope of the group counted as stored),
    /// so that the decisions below find every count they need.
    /// </summary>
    private static async Task<Dictionary<(string, long), long>> CountNearLimitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSubmission> submissions, GroupState state)
    {
        var counts = new Dictionary<(string, long), long>();
        var bound = state.Mailboxes.ToDictionary(m => m.Key, m => m.Value.Pending, StringComparer.Ordinal);
        var needed = new List<(string Mailbox, long Now)>();
        for (int s = 0; s < submissions.Count; s++)
        {
            PendingSubmission submission = submissions[s];
            if (!state.FreshNonce[s] || submission.Envelopes.Any(e => !state.Mailboxes.ContainsKey(e.Recipient.Value)))
            {
                continue;
            }

            foreach (IGrouping<string, RelayEnvelope> mailbox in submission.Envelopes.GroupBy(e => e.Recipient.Value, StringComparer.Ordinal))
            {
                bound[mailbox.Key] += mailbox.Count();
                if (bound[mailbox.Key] > submission.MaxPendingPerMailbox && !counts.ContainsKey((mailbox.Key, submission.Now)))
                {
                    counts[(mailbox.Key, submission.Now)] = 0;
                    needed.Add((mailbox.Key, submission.Now));
                }
            }
        }

        if (needed.Count == 0)
        {
            return counts;
        }

        await using NpgsqlCommand command = new(CountUnexpiredSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = needed.Select(n => n.Mailbox).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = needed.Select(n => n.Now).ToArray() });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            counts[needed[(int)reader.GetInt64(0) - 1]] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>Decides every submission in queue order and collects what the group stores.</summary>
    private static StoreBuilder Decide(List<PendingSubmission> submissions, GroupState state, Dictionary<(string, long), long> exactCounts)
    {
        var store = new StoreBuilder();
        // Envelopes accepted by earlier submissions of this group, which the database cannot see yet.
        var storedInGroup = new HashSet<(string, string)>();
        var addedInGroup = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int s = 0; s < submissions.Count; s++)
        {
            PendingSubmission submission = submissions[s];
            submission.Outcome = Decide(submission, s, state, exactCounts, storedInGroup, addedInGroup, store);
        }

        return store;
    }

    private static EnvelopeSubmissionOutcome Decide(
        PendingSubmission submission,
        int index,
        GroupState state,
        Dictionary<(string, long), long> exactCounts,
        HashSet<(string, string)> storedInGroup,
        Dictionary<string, long> addedInGroup,
        StoreBuilder store)
    {
        if (!state.FreshNonce[index])
        {
            // A replay: nothing of it is kept.
            return EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.ReplayedNonce, null);
        }

        IReadOnlyList<RelayEnvelope> envelopes = submission.Envelopes;
        // The nonce of a refused submission stays recorded: it commits with the group.
        string? unknown = envelopes.Select(e => e.Recipient.Value).Order(StringComparer.Ordinal).FirstOrDefault(r => !state.Mailboxes.ContainsKey(r));
        if (unknown is not null)
        {
            return EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.UnknownRecipient, new DeviceId(unknown));
        }

        var duplicates = new HashSet<int>();
        var fresh = new List<RelayEnvelope>();
        var inBatch = new HashSet<(string, string)>();
        for (int position = 0; position < envelopes.Count; position++)
        {
            RelayEnvelope envelope = envelopes[position];
            (string, string) key = (envelope.Recipient.Value, envelope.Id.Value);
            if (state.IsKnown(index, position) || storedInGroup.Contains(key) || !inBatch.Add(key))
            {
                duplicates.Add(position);
            }
            else
            {
                fresh.Add(envelope);
            }
        }

        List<IGrouping<DeviceId, RelayEnvelope>> mailboxes = [.. fresh.GroupBy(e => e.Recipient)];
        foreach (IGrouping<DeviceId, RelayEnvelope> mailbox in mailboxes)
        {
            string recipient = mailbox.Key.Value;
            long added = addedInGroup.GetValueOrDefault(recipient);
            if (state.Mailboxes[recipient].Pending + added + mailbox.Count() > submission.MaxPendingPerMailbox
                && exactCounts[(recipient, submission.Now)] + added + mailbox.Count() > submission.MaxPendingPerMailbox)
            {
                return EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.MailboxFull, mailbox.Key);
            }
        }

        var appended = new List<RelayMailboxAppend>(mailboxes.Count);
        foreach (IGrouping<DeviceId, RelayEnvelope> mailbox in mailboxes)
        {
            string recipient = mailbox.Key.Value;
            // Cursors continue from the locked last_cursor, after whatever earlier submissions of the group took.
            long cursor = state.Mailboxes[recipient].LastCursor + addedInGroup.GetValueOrDefault(recipient);
            var stored = new List<RelayPendingEnvelope>();
            foreach (RelayEnvelope envelope in mailbox)
            {
                cursor++;
                stored.Add(new RelayPendingEnvelope(cursor, envelope.Id, envelope.Data));
                store.Add(envelope, cursor, submission.Now, submission.ExpiresAt);
                storedInGroup.Add((recipient, envelope.Id.Value));
            }

            addedInGroup[recipient] = addedInGroup.GetValueOrDefault(recipient) + stored.Count;
            store.AdvanceCursor(recipient, cursor);
            appended.Add(new RelayMailboxAppend(mailbox.Key, stored));
        }

        return new EnvelopeSubmissionOutcome(EnvelopeBatchStatus.Stored, duplicates, null) { Appended = appended };
    }

    private readonly record struct MailboxState(long LastCursor, long Pending);

    /// <summary>What the first round trip found.</summary>
    private sealed class GroupState
    {
        // Flattened positions of all the group's envelopes map back to (submission, position) through these offsets.
        private readonly int[] _offsets;
        private readonly bool[] _known;

        public GroupState(List<PendingSubmission> submissions)
        {
            _offsets = new int[submissions.Count];
            int total = 0;
            for (int s = 0; s < submissions.Count; s++)
            {
                _offsets[s] = total;
                total += submissions[s].Envelopes.Count;
            }

            _known = new bool[total];
            FreshNonce = [.. submissions.Select(_ => true)];
        }

        /// <summary>Whether each submission's nonce was unused (true when it carries none).</summary>
        public bool[] FreshNonce { get; }

        /// <summary>Locked mailboxes of the group's recipients: last cursor and pending count (upper bound).</summary>
        public Dictionary<string, MailboxState> Mailboxes { get; } = new(StringComparer.Ordinal);

        public void MarkKnown(int flatPosition) => _known[flatPosition] = true;

        /// <summary>Whether the envelope is already stored or was already delivered.</summary>
        public bool IsKnown(int submission, int position) => _known[_offsets[submission] + position];
    }

    /// <summary>Collects the group's accepted envelopes and advanced cursors, then stores them in one round trip.</summary>
    private sealed class StoreBuilder
    {
        private readonly List<string> _recipients = [];
        private readonly List<string> _ids = [];
        private readonly List<long> _cursors = [];
        private readonly List<byte[]> _data = [];
        private readonly List<long> _storedAt = [];
        private readonly List<long> _expiresAt = [];
        private readonly Dictionary<string, long> _lastCursors = new(StringComparer.Ordinal);

        public void Add(RelayEnvelope envelope, long cursor, long storedAt, long expiresAt)
        {
            _recipients.Add(envelope.Recipient.Value);
            _ids.Add(envelope.Id.Value);
            _cursors.Add(cursor);
            _data.Add(envelope.Data);
            _storedAt.Add(storedAt);
            _expiresAt.Add(expiresAt);
        }

        public void AdvanceCursor(string mailbox, long lastCursor) => _lastCursors[mailbox] = lastCursor;

        public async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Func<string, string> notificationPayload)
        {
            if (_recipients.Count == 0)
            {
                return;
            }

            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                InsertEnvelopesSql,
                _recipients.ToArray(),
                _ids.ToArray(),
                _cursors.ToArray(),
                _data.ToArray(),
                _storedAt.ToArray(),
                _expiresAt.ToArray()));
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(AdvanceCursorsSql, _lastCursors.Keys.ToArray(), _lastCursors.Values.ToArray()));
            // Delivered to listeners at commit, and only if the transaction commits: one per mailbox that received
            // envelopes. The payload names this instance, whose own sessions were handed the envelopes already.
            batch.BatchCommands.Add(PostgresRelayStore.BatchCommand(
                NotifySql,
                PostgresRelayStore.NotificationChannel,
                _lastCursors.Keys.Select(notificationPayload).ToArray()));
            await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
