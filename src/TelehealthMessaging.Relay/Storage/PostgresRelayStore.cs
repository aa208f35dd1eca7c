using Npgsql;
using NpgsqlTypes;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// The production store: PostgreSQL, shareable by several relay instances. Submissions and acknowledgements are group
/// commits (<see cref="PostgresWriteQueue"/>): many per transaction, mailbox rows locked (in id order) until the commit,
/// which serializes cursors per mailbox; one-time prekeys are taken with <c>DELETE … FOR UPDATE SKIP LOCKED …
/// RETURNING</c>; every committed group sends a NOTIFY per mailbox it stored envelopes in.
/// </summary>
internal sealed class PostgresRelayStore : IRelayStore, IAsyncDisposable
{
    /// <summary>The LISTEN/NOTIFY channel; the payload is the recipient device id.</summary>
    public const string NotificationChannel = "telehealth_relay_mailbox";

    private const string RevokedPrefix = "!";

    private const int OneTimeKind = 0;
    private const int KemKind = 1;

    // Arbitrary constant so that instances starting together migrate one at a time.
    private const long MigrationLockKey = 0x54454C4552454C41;

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE devices (
            device_id text NOT NULL PRIMARY KEY,
            user_id text NOT NULL,
            identity_key bytea NOT NULL,
            agreement_key bytea NOT NULL,
            agreement_key_signature bytea NOT NULL);
        CREATE INDEX devices_by_user ON devices (user_id, device_id);
        CREATE TABLE prekeys (
            device_id text NOT NULL PRIMARY KEY REFERENCES devices (device_id),
            signed_prekey bytea NULL,
            last_resort_kem_prekey bytea NULL);
        CREATE TABLE one_time_prekeys (
            device_id text NOT NULL REFERENCES devices (device_id),
            kind integer NOT NULL,
            key_id bigint NOT NULL,
            key bytea NOT NULL,
            PRIMARY KEY (device_id, kind, key_id));
        CREATE TABLE mailboxes (
            device_id text NOT NULL PRIMARY KEY REFERENCES devices (device_id),
            last_cursor bigint NOT NULL);
        CREATE TABLE envelopes (
            recipient text NOT NULL,
            id text NOT NULL,
            cursor bigint NOT NULL,
            data bytea NOT NULL,
            stored_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            PRIMARY KEY (recipient, id));
        CREATE UNIQUE INDEX envelopes_by_cursor ON envelopes (recipient, cursor);
        CREATE INDEX envelopes_by_expiry ON envelopes (expires_at);
        CREATE TABLE delivered (
            recipient text NOT NULL,
            id text NOT NULL,
            expires_at bigint NOT NULL,
            PRIMARY KEY (recipient, id));
        CREATE TABLE nonces (
            device_id text NOT NULL,
            nonce text NOT NULL,
            expires_at bigint NOT NULL,
            PRIMARY KEY (device_id, nonce));
        CREATE INDEX nonces_by_expiry ON nonces (expires_at);
        CREATE TABLE blobs (
            blob_id text NOT NULL PRIMARY KEY,
            size bigint NOT NULL,
            expires_at bigint NOT NULL);
        """,
        """
        ALTER TABLE devices ADD COLUMN envelope_key bytea NULL;
        CREATE TABLE revoked_devices (
            device_id text NOT NULL PRIMARY KEY,
            user_id text NOT NULL,
            revoked_at bigint NOT NULL);
        CREATE TABLE clinic_devices (
            clinic_id text NOT NULL,
            device_id text NOT NULL REFERENCES devices (device_id),
            PRIMARY KEY (clinic_id, device_id));
        CREATE INDEX clinic_devices_by_device ON clinic_devices (device_id);
        CREATE TABLE work_item_claims (
            clinic_id text NOT NULL,
            item_id text NOT NULL,
            user_id text NOT NULL,
            device_id text NOT NULL,
            claimed_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            PRIMARY KEY (clinic_id, item_id));
        CREATE INDEX work_item_claims_by_expiry ON work_item_claims (expires_at);
        """,
        """
        CREATE TABLE audit_log (
            chain_id text NOT NULL,
            scope text NOT NULL,
            collection text NOT NULL,
            name text NOT NULL,
            value bytea NOT NULL,
            PRIMARY KEY (chain_id, scope, collection, name));
        """,
        // Pending per mailbox = last_cursor (envelopes ever stored) - removed (acknowledged or purged), kept in its own
        // row so that acknowledgements never wait for the mailbox row a submission holds. It replaces count(*) over
        // the mailbox on every submission, which walked the dead row versions acknowledged envelopes leave until
        // vacuum; the tables written at the message rate are vacuumed early for the same reason.
        """
        CREATE TABLE mailbox_removals (
            device_id text NOT NULL PRIMARY KEY,
            removed bigint NOT NULL);
        INSERT INTO mailbox_removals (device_id, removed)
            SELECT m.device_id, m.last_cursor - (SELECT count(*) FROM envelopes e WHERE e.recipient = m.device_id) FROM mailboxes m;
        ALTER TABLE mailbox_removals SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 100);
        ALTER TABLE mailboxes SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 100);
        ALTER TABLE envelopes SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
        ALTER TABLE delivered SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
        ALTER TABLE nonces SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
        """,
        // Expiry is read only by the purge, in bulk, and rows arrive in roughly expiry order: a BRIN index (a min/max
        // per range of pages) serves that for almost no cost per insert, where the B-tree took an entry (and its WAL,
        // and vacuuming once acknowledged) per envelope. The delivered ids get one too: the purge scanned the table.
        """
        DROP INDEX envelopes_by_expiry;
        CREATE INDEX envelopes_by_expiry ON envelopes USING brin (expires_at);
        CREATE INDEX delivered_by_expiry ON delivered USING brin (expires_at);
        """,
        // Rows here are deleted soon after they are written (envelopes when acknowledged, the rest when they expire),
        // so vacuum finds the end of the file empty and truncates it, holding an ACCESS EXCLUSIVE lock on the table
        // while it checks the pages and shortens the file (PostgreSQL's documentation of vacuum_truncate): every
        // submission and acknowledgement waits behind it. Seen in a 100-device run at 5,000 envelopes/s: a vacuum
        // that cut 14,285 pages off envelopes ended inside the 100 ms in which 185 of 500 envelopes were slower than
        // the run's p99 (up to 149 ms). Untruncated, the emptied pages stay in the file and take the next inserts.
        """
        ALTER TABLE envelopes SET (vacuum_truncate = false);
        ALTER TABLE delivered SET (vacuum_truncate = false);
        ALTER TABLE nonces SET (vacuum_truncate = false);
        """,
        // The cursor index serves only queries that bound the cursor (every column is NOT NULL, so the predicate is
        // always true): a lookup by (recipient, id) then has the primary key alone to choose from. When vacuum has just
        // found the table empty its statistics say it holds no rows, every index looks equally cheap, and the planner
        // took this one, walking the recipient's whole mailbox to find each id (see PostgresWriteGroup).
        """
        CREATE UNIQUE INDEX envelopes_by_bounded_cursor ON envelopes (recipient, cursor) WHERE cursor IS NOT NULL;
        DROP INDEX envelopes_by_cursor;
        ALTER INDEX envelopes_by_bounded_cursor RENAME TO envelopes_by_cursor;
        """,
    ];

    private const string DeviceColumns = "device_id, user_id, identity_key, agreement_key, agreement_key_signature, envelope_key";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _listenerConnectionString;
    private readonly PostgresWriteQueue _writes;

    public PostgresRelayStore(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        // NpgsqlConnectionStringBuilder reports every keyword it knows as present; a plain builder tells what was given.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Max Auto Prepare"))
        {
            // The relay runs the same few statements all the time; prepared once per connection, PostgreSQL skips
            // parsing and planning them on every request, which was a large share of its CPU per envelope.
            settings.MaxAutoPrepare = 32;
        }

        if (!given.ContainsKey("No Reset On Close"))
        {
            // The relay leaves no session state on pooled connections (LISTEN has its own unpooled connection), and a
            // reset would discard the prepared statements above every time a connection returns to the pool.
            settings.NoResetOnClose = true;
        }

        _listenerConnectionString = new NpgsqlConnectionStringBuilder(settings.ConnectionString) { Pooling = false }.ConnectionString;

        _dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
        _writes = new PostgresWriteQueue(_dataSource, NotificationPayload);
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    /// <summary>Names this relay instance in its mailbox notifications, so that it can skip its own.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Reads a notification payload: the mailbox, whether its device was revoked, and whether this instance sent it.</summary>
    public (string Mailbox, bool Revoked, bool FromThisInstance) ParseNotification(string payload)
    {
        // Device ids never start with '!' (Identifier), so the prefix cannot be mistaken for a mailbox.
        bool revoked = payload.StartsWith(RevokedPrefix, StringComparison.Ordinal);
        string rest = revoked ? payload[RevokedPrefix.Length..] : payload;
        int separator = rest.LastIndexOf(' ');
        return separator < 0
            ? (rest, revoked, false)
            : (rest[..separator], revoked, string.Equals(rest[(separator + 1)..], InstanceId, StringComparison.Ordinal));
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock($1);", cancellationToken, MigrationLockKey).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer NOT NULL PRIMARY KEY);", cancellationToken).ConfigureAwait(false);
        int current = await ScalarAsync<int>(connection, transaction, "SELECT coalesce(max(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false);
        for (int version = current + 1; version <= Migrations.Length; version++)
        {
            await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version) VALUES ($1);", cancellationToken, version).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            int version = await ScalarAsync<int>(connection, null, "SELECT coalesce(max(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false);
            return version == Migrations.Length;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    public async Task<DeviceRegistrationOutcome> RegisterDeviceAsync(RelayDevice device, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await ScalarAsync<bool>(connection, transaction, "SELECT EXISTS (SELECT 1 FROM revoked_devices WHERE device_id = $1);", cancellationToken, device.DeviceId.Value).ConfigureAwait(false))
        {
            return DeviceRegistrationOutcome.Revoked;
        }

        int inserted = await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO devices (device_id, user_id, identity_key, agreement_key, agreement_key_signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id) DO NOTHING;",
            cancellationToken,
            device.DeviceId.Value,
            device.UserId.Value,
            device.IdentityKey,
            device.AgreementKey,
            device.AgreementKeySignature).ConfigureAwait(false);
        if (inserted == 0)
        {
            RelayDevice? existing = await ReadDeviceAsync(connection, transaction, device.DeviceId, cancellationToken).ConfigureAwait(false);
            return existing is not null && existing.HasSameKeys(device) ? DeviceRegistrationOutcome.AlreadyRegistered : DeviceRegistrationOutcome.Conflict;
        }

        await ExecuteAsync(connection, transaction, "INSERT INTO mailboxes (device_id, last_cursor) VALUES ($1, 0);", cancellationToken, device.DeviceId.Value).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return DeviceRegistrationOutcome.Created;
    }

    public async Task<RelayDevice?> GetDeviceAsync(DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadDeviceAsync(connection, null, deviceId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeviceRevocationOutcome> RevokeDeviceAsync(DeviceId deviceId, UserId ownerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // FOR UPDATE: a concurrent registration, key upload or second revocation of the device waits for this one.
        RelayDevice? device = null;
        await using (NpgsqlCommand command = Command(connection, transaction, $"SELECT {DeviceColumns} FROM devices WHERE device_id = $1 FOR UPDATE;", deviceId.Value))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                device = ReadDevice(reader);
            }
        }

        if (device is null)
        {
            return DeviceRevocationOutcome.NotFound;
        }

        if (device.UserId != ownerId)
        {
            return DeviceRevocationOutcome.NotOwnDevice;
        }

        // One statement each: Npgsql does not take positional parameters in a multi-statement command. The device's
        // envelopes (by id) and then its mailbox row are locked first, in the order the write groups lock them
        // (PostgresWriteGroup), so a group holding either commits before the deletes, which then see what it stored;
        // deleted first, an envelope a group committed meanwhile stayed behind for a device that no longer exists.
        foreach (string sql in (string[])
        [
            "SELECT 1 FROM envelopes WHERE recipient = $1 ORDER BY id COLLATE \"C\" FOR UPDATE;",
            "SELECT 1 FROM mailboxes WHERE device_id = $1 FOR UPDATE;",
            "DELETE FROM one_time_prekeys WHERE device_id = $1;",
            "DELETE FROM prekeys WHERE device_id = $1;",
            "DELETE FROM envelopes WHERE recipient = $1;",
            "DELETE FROM delivered WHERE recipient = $1;",
            "DELETE FROM mailboxes WHERE device_id = $1;",
            "DELETE FROM mailbox_removals WHERE device_id = $1;",
            "DELETE FROM clinic_devices WHERE device_id = $1;",
            "DELETE FROM devices WHERE device_id = $1;",
        ])
        {
            await ExecuteAsync(connection, transaction, sql, cancellationToken, deviceId.Value).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, "INSERT INTO revoked_devices (device_id, user_id, revoked_at) VALUES ($1, $2, $3);", cancellationToken, deviceId.Value, ownerId.Value, now.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        // Other instances close the device's open connections when this commits.
        await ExecuteAsync(connection, transaction, "SELECT pg_notify($1, $2);", cancellationToken, NotificationChannel, RevokedPrefix + NotificationPayload(deviceId.Value)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return DeviceRevocationOutcome.Revoked;
    }

    public async Task JoinClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "INSERT INTO clinic_devices (clinic_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;", cancellationToken, clinicId.Value, deviceId.Value).ConfigureAwait(false);
    }

    public async Task LeaveClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM clinic_devices WHERE clinic_id = $1 AND device_id = $2;", cancellationToken, clinicId.Value, deviceId.Value).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RelayDevice>> ListClinicDevicesAsync(ClinicId clinicId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = Command(
            connection,
            null,
            $"SELECT {DeviceColumns} FROM devices WHERE device_id IN (SELECT device_id FROM clinic_devices WHERE clinic_id = $1) ORDER BY device_id;",
            clinicId.Value);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<RelayDevice>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(ReadDevice(reader));
        }

        return devices;
    }

    public async Task<RelayWorkItemClaim?> ClaimWorkItemAsync(ClinicId clinicId, string itemId, RelayDevice device, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (!await ScalarAsync<bool>(connection, transaction, "SELECT EXISTS (SELECT 1 FROM clinic_devices WHERE clinic_id = $1 AND device_id = $2);", cancellationToken, clinicId.Value, device.DeviceId.Value).ConfigureAwait(false))
        {
            return null;
        }

        // The primary key arbitrates: a concurrent insert of the same item waits for the first to commit and then
        // finds its row unexpired, so it changes nothing; only an expired claim is taken over.
        await ExecuteAsync(
            connection,
            transaction,
            """
            INSERT INTO work_item_claims (clinic_id, item_id, user_id, device_id, claimed_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (clinic_id, item_id) DO UPDATE SET
                user_id = excluded.user_id, device_id = excluded.device_id, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
            WHERE work_item_claims.expires_at <= excluded.claimed_at;
            """,
            cancellationToken,
            clinicId.Value,
            itemId,
            device.UserId.Value,
            device.DeviceId.Value,
            now.ToUnixTimeMilliseconds(),
            expiresAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        RelayWorkItemClaim claim;
        await using (NpgsqlCommand command = Command(connection, transaction, "SELECT user_id, device_id, claimed_at FROM work_item_claims WHERE clinic_id = $1 AND item_id = $2;", clinicId.Value, itemId))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            claim = new RelayWorkItemClaim(clinicId, itemId, new UserId(reader.GetString(0)), new DeviceId(reader.GetString(1)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return claim;
    }

    public async Task<IReadOnlyList<RelayDevice>> ListDevicesAsync(UserId userId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = Command(connection, null, $"SELECT {DeviceColumns} FROM devices WHERE user_id = $1 ORDER BY device_id;", userId.Value);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<RelayDevice>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(ReadDevice(reader));
        }

        return devices;
    }

    public async Task StorePrekeysAsync(DeviceId deviceId, RelayPrekeyUpload upload, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            """
            INSERT INTO prekeys (device_id, signed_prekey, last_resort_kem_prekey) VALUES ($1, $2, $3)
            ON CONFLICT (device_id) DO UPDATE SET
                signed_prekey = coalesce(excluded.signed_prekey, prekeys.signed_prekey),
                last_resort_kem_prekey = coalesce(excluded.last_resort_kem_prekey, prekeys.last_resort_kem_prekey);
            """,
            cancellationToken,
            deviceId.Value,
            Nullable(upload.SignedPrekey),
            Nullable(upload.LastResortKemPrekey)).ConfigureAwait(false);
        if (upload.EnvelopeKey is not null)
        {
            await ExecuteAsync(connection, transaction, "UPDATE devices SET envelope_key = $2 WHERE device_id = $1;", cancellationToken, deviceId.Value, upload.EnvelopeKey).ConfigureAwait(false);
        }

        foreach ((int kind, IReadOnlyList<RelayOneTimePrekey> keys) in new[] { (OneTimeKind, upload.OneTimePrekeys), (KemKind, upload.OneTimeKemPrekeys) })
        {
            foreach (RelayOneTimePrekey key in keys)
            {
                await ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT INTO one_time_prekeys (device_id, kind, key_id, key) VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, kind, key_id) DO UPDATE SET key = excluded.key;",
                    cancellationToken,
                    deviceId.Value,
                    kind,
                    key.KeyId,
                    key.Key).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        RelayDevice? device = await ReadDeviceAsync(connection, transaction, deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || device.UserId != userId || device.EnvelopeKey is null)
        {
            return null;
        }

        byte[]? signed = null;
        byte[]? lastResort = null;
        await using (NpgsqlCommand command = Command(connection, transaction, "SELECT signed_prekey, last_resort_kem_prekey FROM prekeys WHERE device_id = $1;", deviceId.Value))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                signed = reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0);
                lastResort = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
            }
        }

        if (signed is null || lastResort is null)
        {
            return null;
        }

        RelayOneTimePrekey? oneTime = await TakeOneTimeKeyAsync(connection, transaction, deviceId, OneTimeKind, cancellationToken).ConfigureAwait(false);
        RelayOneTimePrekey? kem = await TakeOneTimeKeyAsync(connection, transaction, deviceId, KemKind, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return kem is null
            ? new RelayPrekeyBundle(device, signed, oneTime, new RelayOneTimePrekey(0, lastResort), KemPrekeyIsLastResort: true)
            : new RelayPrekeyBundle(device, signed, oneTime, kem, KemPrekeyIsLastResort: false);
    }

    public Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken) =>
        _writes.SubmitAsync(envelopes, now, expiresAt, maxPendingPerMailbox, nonce, cancellationToken);

    public async Task<IReadOnlyList<RelayPendingEnvelope>> FetchEnvelopesAsync(DeviceId recipient, long afterCursor, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = Command(
            connection,
            null,
            "SELECT cursor, id, data FROM envelopes WHERE recipient = $1 AND cursor > $2 AND expires_at > $3 ORDER BY cursor LIMIT $4;",
            recipient.Value,
            afterCursor,
            now.ToUnixTimeMilliseconds(),
            limit);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var envelopes = new List<RelayPendingEnvelope>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            envelopes.Add(new RelayPendingEnvelope(reader.GetInt64(0), new MessageId(reader.GetString(1)), reader.GetFieldValue<byte[]>(2)));
        }

        return envelopes;
    }

    public Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken) =>
        _writes.AcknowledgeAsync(recipient, ids, rememberUntil, cancellationToken);

    public async Task<bool> TryUseNonceAsync(DeviceId deviceId, string nonce, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        int rows = await ExecuteAsync(
            connection,
            null,
            "INSERT INTO nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;",
            cancellationToken,
            deviceId.Value,
            nonce,
            expiresAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return rows == 1;
    }

    public async Task<bool> TryAddBlobAsync(string blobId, long size, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        int rows = await ExecuteAsync(connection, null, "INSERT INTO blobs (blob_id, size, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;", cancellationToken, blobId, size, expiresAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return rows == 1;
    }

    public async Task<bool> BlobExistsAsync(string blobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync<bool>(connection, null, "SELECT EXISTS (SELECT 1 FROM blobs WHERE blob_id = $1 AND expires_at > $2);", cancellationToken, blobId, now.ToUnixTimeMilliseconds()).ConfigureAwait(false);
    }

    public async Task<RelayPurgeResult> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        long nowMs = now.ToUnixTimeMilliseconds();
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        int envelopes = (int)await ScalarAsync<long>(
            connection,
            transaction,
            """
            WITH gone AS (DELETE FROM envelopes WHERE expires_at <= $1 RETURNING recipient),
            per_mailbox AS (SELECT recipient, count(*) AS expired FROM gone GROUP BY recipient),
            counted AS (
                INSERT INTO mailbox_removals (device_id, removed) SELECT recipient, expired FROM per_mailbox
                ON CONFLICT (device_id) DO UPDATE SET removed = mailbox_removals.removed + excluded.removed)
            SELECT coalesce(sum(expired), 0) FROM per_mailbox;
            """,
            cancellationToken,
            nowMs).ConfigureAwait(false);
        int nonces = await ExecuteAsync(connection, transaction, "DELETE FROM nonces WHERE expires_at <= $1;", cancellationToken, nowMs).ConfigureAwait(false);
        int delivered = await ExecuteAsync(connection, transaction, "DELETE FROM delivered WHERE expires_at <= $1;", cancellationToken, nowMs).ConfigureAwait(false);
        int claims = await ExecuteAsync(connection, transaction, "DELETE FROM work_item_claims WHERE expires_at <= $1;", cancellationToken, nowMs).ConfigureAwait(false);
        var blobs = new List<string>();
        await using (NpgsqlCommand command = Command(connection, transaction, "DELETE FROM blobs WHERE expires_at <= $1 RETURNING blob_id;", nowMs))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                blobs.Add(reader.GetString(0));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RelayPurgeResult(envelopes, nonces, delivered, blobs, claims);
    }

    /// <summary>Opens a connection outside the pool's command use, for the LISTEN loop.</summary>
    public async ValueTask<NpgsqlConnection> OpenListenerConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(_listenerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writes.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task<RelayOneTimePrekey?> TakeOneTimeKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DeviceId deviceId, int kind, CancellationToken cancellationToken)
    {
        // SKIP LOCKED: concurrent claimers take different keys instead of queueing on (and then missing) the same row.
        await using NpgsqlCommand command = Command(
            connection,
            transaction,
            """
            DELETE FROM one_time_prekeys
            WHERE (device_id, kind, key_id) = (
                SELECT device_id, kind, key_id FROM one_time_prekeys
                WHERE device_id = $1 AND kind = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING key_id, key;
            """,
            deviceId.Value,
            kind);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new RelayOneTimePrekey(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)) : null;
    }

    private static async Task<RelayDevice?> ReadDeviceAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = Command(connection, transaction, $"SELECT {DeviceColumns} FROM devices WHERE device_id = $1;", deviceId.Value);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadDevice(reader) : null;
    }

    private static RelayDevice ReadDevice(NpgsqlDataReader reader) =>
        new(new UserId(reader.GetString(1)), new DeviceId(reader.GetString(0)), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4))
        {
            EnvelopeKey = reader.IsDBNull(5) ? null : reader.GetFieldValue<byte[]>(5),
        };

    private static NpgsqlParameter Nullable(byte[]? value) => new() { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)value ?? DBNull.Value };

    private string NotificationPayload(string mailbox) => mailbox + " " + InstanceId;

    internal static NpgsqlBatchCommand BatchCommand(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (object value in parameters)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using NpgsqlCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using NpgsqlCommand command = Command(connection, transaction, sql, parameters);
        object? value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
