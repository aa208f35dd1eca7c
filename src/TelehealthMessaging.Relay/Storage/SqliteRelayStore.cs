using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace TelehealthMessaging.Relay.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writers serialize on SQLite's file lock (every write transaction
/// is <c>BEGIN IMMEDIATE</c>), which is what makes prekey claims and mailbox cursors safe under concurrency.
/// </summary>
internal sealed class SqliteRelayStore : IRelayStore, IDisposable
{
    private const int OneTimeKind = 0;
    private const int KemKind = 1;

    // Each entry upgrades the schema by one version; never edit a shipped entry, append a new one.
    internal static readonly string[] Migrations =
    [
        """
        CREATE TABLE devices (
            device_id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL,
            identity_key BLOB NOT NULL,
            agreement_key BLOB NOT NULL,
            agreement_key_signature BLOB NOT NULL);
        CREATE INDEX devices_by_user ON devices (user_id, device_id);
        CREATE TABLE prekeys (
            device_id TEXT NOT NULL PRIMARY KEY REFERENCES devices (device_id),
            signed_prekey BLOB NULL,
            last_resort_kem_prekey BLOB NULL);
        CREATE TABLE one_time_prekeys (
            device_id TEXT NOT NULL REFERENCES devices (device_id),
            kind INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            key BLOB NOT NULL,
            PRIMARY KEY (device_id, kind, key_id));
        CREATE TABLE mailboxes (
            device_id TEXT NOT NULL PRIMARY KEY REFERENCES devices (device_id),
            last_cursor INTEGER NOT NULL);
        CREATE TABLE envelopes (
            recipient TEXT NOT NULL,
            id TEXT NOT NULL,
            cursor INTEGER NOT NULL,
            data BLOB NOT NULL,
            stored_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (recipient, id));
        CREATE UNIQUE INDEX envelopes_by_cursor ON envelopes (recipient, cursor);
        CREATE INDEX envelopes_by_expiry ON envelopes (expires_at);
        CREATE TABLE delivered (
            recipient TEXT NOT NULL,
            id TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (recipient, id));
        CREATE TABLE nonces (
            device_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (device_id, nonce));
        CREATE TABLE blobs (
            blob_id TEXT NOT NULL PRIMARY KEY,
            size INTEGER NOT NULL,
            expires_at INTEGER NOT NULL);
        """,
        """
        ALTER TABLE devices ADD COLUMN envelope_key BLOB NULL;
        CREATE TABLE revoked_devices (
            device_id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL,
            revoked_at INTEGER NOT NULL);
        CREATE TABLE clinic_devices (
            clinic_id TEXT NOT NULL,
            device_id TEXT NOT NULL REFERENCES devices (device_id),
            PRIMARY KEY (clinic_id, device_id));
        CREATE INDEX clinic_devices_by_device ON clinic_devices (device_id);
        CREATE TABLE work_item_claims (
            clinic_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            claimed_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (clinic_id, item_id));
        CREATE INDEX work_item_claims_by_expiry ON work_item_claims (expires_at);
        """,
        """
        CREATE TABLE audit_log (
            chain_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            collection TEXT NOT NULL,
            name TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (chain_id, scope, collection, name));
        """,
        // Delivered ids and nonces are written for every acknowledged envelope and every request. As rowid tables with a
        // primary key each write changed two B-trees at random places (the table and its key index); clustered on the
        // key (WITHOUT ROWID) it is one. Their expiry indexes grow at the right edge, so they add little.
        """
        CREATE TABLE delivered_clustered (
            recipient TEXT NOT NULL,
            id TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (recipient, id)) WITHOUT ROWID;
        INSERT INTO delivered_clustered (recipient, id, expires_at) SELECT recipient, id, expires_at FROM delivered;
        DROP TABLE delivered;
        ALTER TABLE delivered_clustered RENAME TO delivered;
        CREATE INDEX delivered_by_expiry ON delivered (expires_at);
        CREATE TABLE nonces_clustered (
            device_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (device_id, nonce)) WITHOUT ROWID;
        INSERT INTO nonces_clustered (device_id, nonce, expires_at) SELECT device_id, nonce, expires_at FROM nonces;
        DROP TABLE nonces;
        ALTER TABLE nonces_clustered RENAME TO nonces;
        CREATE INDEX nonces_by_expiry ON nonces (expires_at);
        """,
        // Pending envelopes and delivered ids were keyed (recipient, id): every envelope stored, acknowledged and
        // remembered rewrote a page of each of those B-trees where its recipient's keys live, a different page for
        // every mailbox, in every commit. Keyed (id, recipient), ids made by MessageId.New (time-ordered) land at one
        // edge, where a commit writes one page for all its envelopes: at 5,000 envelopes/s across 100 mailboxes the
        // writer wrote 13.7-17.7 KB per envelope to the WAL instead of 21.5-24.6 KB. Lookups give both columns, so
        // either order serves them; deleting a recipient's rows goes through envelopes_by_cursor.
        """
        CREATE TABLE envelopes_by_id (
            recipient TEXT NOT NULL,
            id TEXT NOT NULL,
            cursor INTEGER NOT NULL,
            data BLOB NOT NULL,
            stored_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (id, recipient));
        INSERT INTO envelopes_by_id (recipient, id, cursor, data, stored_at, expires_at)
            SELECT recipient, id, cursor, data, stored_at, expires_at FROM envelopes ORDER BY rowid;
        DROP TABLE envelopes;
        ALTER TABLE envelopes_by_id RENAME TO envelopes;
        CREATE UNIQUE INDEX envelopes_by_cursor ON envelopes (recipient, cursor);
        CREATE INDEX envelopes_by_expiry ON envelopes (expires_at);
        CREATE TABLE delivered_by_id (
            recipient TEXT NOT NULL,
            id TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (id, recipient)) WITHOUT ROWID;
        INSERT INTO delivered_by_id (recipient, id, expires_at) SELECT recipient, id, expires_at FROM delivered;
        DROP TABLE delivered;
        ALTER TABLE delivered_by_id RENAME TO delivered;
        CREATE INDEX delivered_by_expiry ON delivered (expires_at);
        """,
    ];

    private const string DeviceColumns = "device_id, user_id, identity_key, agreement_key, agreement_key_signature, envelope_key";

    private readonly string _connectionString;
    private readonly SqliteWriteQueue _writes;

    public SqliteRelayStore(string databasePath)
    {
        string? folder = Path.GetDirectoryName(databasePath);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        _connectionString = ConnectionStringFor(databasePath);
        _writes = new SqliteWriteQueue(_connectionString);
    }

    /// <summary>Run on every connection when it opens (the writer's connection adds its own).</summary>
    internal const string ConnectionPragmas = "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;";

    /// <summary>Converts a scalar query result; NULL (and no row) become the default of <typeparamref name="T"/>.</summary>
    internal static T ScalarValue<T>(object? value) =>
        value is null or DBNull ? default! : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>How every connection to the relay's SQLite file is opened (the audit trail's store uses it too).</summary>
    internal static string ConnectionStringFor(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // WAL lets readers proceed while one writer commits; it is a property of the file, so setting it once suffices.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY);", cancellationToken).ConfigureAwait(false);
        long current = await ScalarAsync<long>(connection, transaction, "SELECT coalesce(max(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false);
        for (int version = (int)current + 1; version <= Migrations.Length; version++)
        {
            await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version) VALUES ($v);", cancellationToken, ("$v", version)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            long version = await ScalarAsync<long>(connection, null, "SELECT coalesce(max(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false);
            return version == Migrations.Length;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public async Task<DeviceRegistrationOutcome> RegisterDeviceAsync(RelayDevice device, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        RelayDevice? existing = await ReadDeviceAsync(connection, transaction, device.DeviceId, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing.HasSameKeys(device) ? DeviceRegistrationOutcome.AlreadyRegistered : DeviceRegistrationOutcome.Conflict;
        }

        if (await ScalarAsync<long>(connection, transaction, "SELECT count(*) FROM revoked_devices WHERE device_id = $d;", cancellationToken, ("$d", device.DeviceId.Value)).ConfigureAwait(false) > 0)
        {
            return DeviceRegistrationOutcome.Revoked;
        }

        await ExecuteAsync(
            connection,
            transaction,
            """
            INSERT INTO devices (device_id, user_id, identity_key, agreement_key, agreement_key_signature) VALUES ($d, $u, $ik, $ak, $aks);
            INSERT INTO mailboxes (device_id, last_cursor) VALUES ($d, 0);
            """,
            cancellationToken,
            ("$d", device.DeviceId.Value),
            ("$u", device.UserId.Value),
            ("$ik", device.IdentityKey),
            ("$ak", device.AgreementKey),
            ("$aks", device.AgreementKeySignature)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return DeviceRegistrationOutcome.Created;
    }

    public async Task<RelayDevice?> GetDeviceAsync(DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadDeviceAsync(connection, null, deviceId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeviceRevocationOutcome> RevokeDeviceAsync(DeviceId deviceId, UserId ownerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        RelayDevice? device = await ReadDeviceAsync(connection, transaction, deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return DeviceRevocationOutcome.NotFound;
        }

        if (device.UserId != ownerId)
        {
            return DeviceRevocationOutcome.NotOwnDevice;
        }

        // Its delivered ids (id, recipient and expiry: no content) are left to the purge: keyed by id, finding them
        // would read the whole table under the write lock, and a revoked id can never receive again.
        await ExecuteAsync(
            connection,
            transaction,
            """
            DELETE FROM one_time_prekeys WHERE device_id = $d;
            DELETE FROM prekeys WHERE device_id = $d;
            DELETE FROM envelopes WHERE recipient = $d;
            DELETE FROM mailboxes WHERE device_id = $d;
            DELETE FROM clinic_devices WHERE device_id = $d;
            DELETE FROM devices WHERE device_id = $d;
            INSERT INTO revoked_devices (device_id, user_id, revoked_at) VALUES ($d, $u, $now);
            """,
            cancellationToken,
            ("$d", deviceId.Value),
            ("$u", ownerId.Value),
            ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return DeviceRevocationOutcome.Revoked;
    }

    public async Task JoinClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "INSERT OR IGNORE INTO clinic_devices (clinic_id, device_id) VALUES ($c, $d);", cancellationToken, ("$c", clinicId.Value), ("$d", deviceId.Value)).ConfigureAwait(false);
    }

    public async Task LeaveClinicAsync(ClinicId clinicId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM clinic_devices WHERE clinic_id = $c AND device_id = $d;", cancellationToken, ("$c", clinicId.Value), ("$d", deviceId.Value)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RelayDevice>> ListClinicDevicesAsync(ClinicId clinicId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = Command(
            connection,
            null,
            $"SELECT {DeviceColumns} FROM devices WHERE device_id IN (SELECT device_id FROM clinic_devices WHERE clinic_id = $c) ORDER BY device_id;",
            ("$c", clinicId.Value));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<RelayDevice>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(ReadDevice(reader));
        }

        return devices;
    }

    public async Task<RelayWorkItemClaim?> ClaimWorkItemAsync(ClinicId clinicId, string itemId, RelayDevice device, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // BEGIN IMMEDIATE: claims serialize on the write lock, so the first insert is the one every later claim reads.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long member = await ScalarAsync<long>(connection, transaction, "SELECT count(*) FROM clinic_devices WHERE clinic_id = $c AND device_id = $d;", cancellationToken, ("$c", clinicId.Value), ("$d", device.DeviceId.Value)).ConfigureAwait(false);
        if (member == 0)
        {
            return null;
        }

        await ExecuteAsync(
            connection,
            transaction,
            """
            DELETE FROM work_item_claims WHERE clinic_id = $c AND item_id = $i AND expires_at <= $now;
            INSERT OR IGNORE INTO work_item_claims (clinic_id, item_id, user_id, device_id, claimed_at, expires_at) VALUES ($c, $i, $u, $d, $now, $exp);
            """,
            cancellationToken,
            ("$c", clinicId.Value),
            ("$i", itemId),
            ("$u", device.UserId.Value),
            ("$d", device.DeviceId.Value),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$exp", expiresAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        RelayWorkItemClaim claim;
        await using (SqliteCommand command = Command(connection, transaction, "SELECT user_id, device_id, claimed_at FROM work_item_claims WHERE clinic_id = $c AND item_id = $i;", ("$c", clinicId.Value), ("$i", itemId)))
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            claim = new RelayWorkItemClaim(clinicId, itemId, new UserId(reader.GetString(0)), new DeviceId(reader.GetString(1)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return claim;
    }

    public async Task<IReadOnlyList<RelayDevice>> ListDevicesAsync(UserId userId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = Command(connection, null, $"SELECT {DeviceColumns} FROM devices WHERE user_id = $u ORDER BY device_id;", ("$u", userId.Value));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<RelayDevice>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(ReadDevice(reader));
        }

        return devices;
    }

    public async Task StorePrekeysAsync(DeviceId deviceId, RelayPrekeyUpload upload, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            """
            INSERT INTO prekeys (device_id, signed_prekey, last_resort_kem_prekey) VALUES ($d, $s, $l)
            ON CONFLICT (device_id) DO UPDATE SET
                signed_prekey = coalesce(excluded.signed_prekey, signed_prekey),
                last_resort_kem_prekey = coalesce(excluded.last_resort_kem_prekey, last_resort_kem_prekey);
            """,
            cancellationToken,
            ("$d", deviceId.Value),
            ("$s", upload.SignedPrekey),
            ("$l", upload.LastResortKemPrekey)).ConfigureAwait(false);
        if (upload.EnvelopeKey is not null)
        {
            await ExecuteAsync(connection, transaction, "UPDATE devices SET envelope_key = $e WHERE device_id = $d;", cancellationToken, ("$d", deviceId.Value), ("$e", upload.EnvelopeKey)).ConfigureAwait(false);
        }

        foreach ((int kind, IReadOnlyList<RelayOneTimePrekey> keys) in new[] { (OneTimeKind, upload.OneTimePrekeys), (KemKind, upload.OneTimeKemPrekeys) })
        {
            foreach (RelayOneTimePrekey key in keys)
            {
                await ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT OR REPLACE INTO one_time_prekeys (device_id, kind, key_id, key) VALUES ($d, $k, $i, $b);",
                    cancellationToken,
                    ("$d", deviceId.Value),
                    ("$k", kind),
                    ("$i", key.KeyId),
                    ("$b", key.Key)).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // BEGIN IMMEDIATE takes the write lock up front, so two claims never read the same one-time key.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        RelayDevice? device = await ReadDeviceAsync(connection, transaction, deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || device.UserId != userId || device.EnvelopeKey is null)
        {
            return null;
        }

        byte[]? signed = null;
        byte[]? lastResort = null;
        await using (SqliteCommand command = Command(connection, transaction, "SELECT signed_prekey, last_resort_kem_prekey FROM prekeys WHERE device_id = $d;", ("$d", deviceId.Value)))
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                signed = reader.IsDBNull(0) ? null : (byte[])reader[0];
                lastResort = reader.IsDBNull(1) ? null : (byte[])reader[1];
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
        _writes.RunAsync(
            write => nonce is not null && !UseNonce(write, nonce.Device, nonce.Value, nonce.ExpiresAt)
                ? EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.ReplayedNonce, null)
                : Submit(write, envelopes, now.ToUnixTimeMilliseconds(), expiresAt.ToUnixTimeMilliseconds(), maxPendingPerMailbox),
            cancellationToken);

    public async Task<IReadOnlyList<RelayPendingEnvelope>> FetchEnvelopesAsync(DeviceId recipient, long afterCursor, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = Command(
            connection,
            null,
            "SELECT cursor, id, data FROM envelopes WHERE recipient = $r AND cursor > $c AND expires_at > $now ORDER BY cursor LIMIT $l;",
            ("$r", recipient.Value),
            ("$c", afterCursor),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$l", limit));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var envelopes = new List<RelayPendingEnvelope>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            envelopes.Add(new RelayPendingEnvelope(reader.GetInt64(0), new MessageId(reader.GetString(1)), (byte[])reader[2]));
        }

        return envelopes;
    }

    public Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken)
    {
        // The ids go to SQLite as one JSON array (json_each), so a frame of a hundred acknowledgements is two statements
        // rather than two hundred; serialized here, off the writer's thread.
        string idArray = JsonSerializer.Serialize(ids.Select(id => id.Value));
        return _writes.RunAsync(
            write =>
            {
                // Remembered first (while the rows still say which ids this mailbox holds), then deleted; the delete's
                // row count is the answer. Both in the write's savepoint: all or nothing.
                write.Execute(
                    "INSERT OR REPLACE INTO delivered (recipient, id, expires_at) SELECT recipient, id, $e FROM envelopes WHERE recipient = $r AND id IN (SELECT value FROM json_each($ids));",
                    ("$r", recipient.Value),
                    ("$ids", idArray),
                    ("$e", rememberUntil.ToUnixTimeMilliseconds()));
                return write.Execute("DELETE FROM envelopes WHERE recipient = $r AND id IN (SELECT value FROM json_each($ids));", ("$r", recipient.Value), ("$ids", idArray));
            },
            cancellationToken,
            durable: false);
    }

    public Task<bool> TryUseNonceAsync(DeviceId deviceId, string nonce, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        _writes.RunAsync(write => UseNonce(write, deviceId, nonce, expiresAt), cancellationToken);

    /// <summary>The store's writer (tests hold it to form a group, and read what a group wrote).</summary>
    internal SqliteWriteQueue Writes => _writes;

    public void Dispose() => _writes.Dispose();

    public async Task<bool> TryAddBlobAsync(string blobId, long size, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        int rows = await ExecuteAsync(connection, null, "INSERT OR IGNORE INTO blobs (blob_id, size, expires_at) VALUES ($b, $s, $e);", cancellationToken, ("$b", blobId), ("$s", size), ("$e", expiresAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        return rows == 1;
    }

    public async Task<bool> BlobExistsAsync(string blobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        long count = await ScalarAsync<long>(connection, null, "SELECT count(*) FROM blobs WHERE blob_id = $b AND expires_at > $now;", cancellationToken, ("$b", blobId), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        return count > 0;
    }

    public async Task<RelayPurgeResult> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        long nowMs = now.ToUnixTimeMilliseconds();
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        int envelopes = await ExecuteAsync(connection, transaction, "DELETE FROM envelopes WHERE expires_at <= $now;", cancellationToken, ("$now", nowMs)).ConfigureAwait(false);
        int nonces = await ExecuteAsync(connection, transaction, "DELETE FROM nonces WHERE expires_at <= $now;", cancellationToken, ("$now", nowMs)).ConfigureAwait(false);
        int delivered = await ExecuteAsync(connection, transaction, "DELETE FROM delivered WHERE expires_at <= $now;", cancellationToken, ("$now", nowMs)).ConfigureAwait(false);
        int claims = await ExecuteAsync(connection, transaction, "DELETE FROM work_item_claims WHERE expires_at <= $now;", cancellationToken, ("$now", nowMs)).ConfigureAwait(false);
        var blobs = new List<string>();
        await using (SqliteCommand command = Command(connection, transaction, "DELETE FROM blobs WHERE expires_at <= $now RETURNING blob_id;", ("$now", nowMs)))
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                blobs.Add(reader.GetString(0));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RelayPurgeResult(envelopes, nonces, delivered, blobs, claims);
    }

    private static bool UseNonce(SqliteWriteQueue.SqliteWriteContext write, DeviceId deviceId, string nonce, DateTimeOffset expiresAt) =>
        write.Execute("INSERT OR IGNORE INTO nonces (device_id, nonce, expires_at) VALUES ($d, $n, $e);", ("$d", deviceId.Value), ("$n", nonce), ("$e", expiresAt.ToUnixTimeMilliseconds())) == 1;

    private static EnvelopeSubmissionOutcome Submit(SqliteWriteQueue.SqliteWriteContext write, IReadOnlyList<RelayEnvelope> envelopes, long now, long expiresAt, int maxPendingPerMailbox)
    {
        var duplicates = new HashSet<int>();
        var fresh = new List<RelayEnvelope>();
        var inBatch = new HashSet<(DeviceId, MessageId)>();
        for (int position = 0; position < envelopes.Count; position++)
        {
            RelayEnvelope envelope = envelopes[position];
            long known = write.Scalar<long>(
                "SELECT EXISTS (SELECT 1 FROM envelopes WHERE recipient = $r AND id = $i) OR EXISTS (SELECT 1 FROM delivered WHERE recipient = $r AND id = $i);",
                ("$r", envelope.Recipient.Value),
                ("$i", envelope.Id.Value));
            // Already stored, already delivered, or repeated inside this batch: store once.
            if (known != 0 || !inBatch.Add((envelope.Recipient, envelope.Id)))
            {
                duplicates.Add(position);
            }
            else
            {
                fresh.Add(envelope);
            }
        }

        // Every mailbox is checked before anything is inserted, so a refused batch stores nothing.
        var mailboxes = new List<(DeviceId Recipient, long LastCursor, List<RelayEnvelope> Envelopes)>();
        foreach (IGrouping<DeviceId, RelayEnvelope> mailbox in fresh.GroupBy(e => e.Recipient))
        {
            // Stored cursors are unique and at most last_cursor, so the oldest one bounds the mailbox from above with a
            // single index seek; only a mailbox that may be near its limit is counted exactly.
            (long LastCursor, long? OldestCursor)? state = write.Row(
                "SELECT last_cursor, (SELECT min(cursor) FROM envelopes WHERE recipient = $d) FROM mailboxes WHERE device_id = $d;",
                row => (row.GetInt64(0), row.IsDBNull(1) ? (long?)null : row.GetInt64(1)),
                ("$d", mailbox.Key.Value));
            if (state is not { } found)
            {
                return EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.UnknownRecipient, mailbox.Key);
            }

            (long lastCursor, long? oldestCursor) = found;

            List<RelayEnvelope> stored = [.. mailbox];
            long pendingAtMost = oldestCursor is null ? 0 : lastCursor - oldestCursor.Value + 1;
            if (pendingAtMost + stored.Count > maxPendingPerMailbox
                && write.Scalar<long>("SELECT count(*) FROM envelopes WHERE recipient = $d AND expires_at > $now;", ("$d", mailbox.Key.Value), ("$now", now)) + stored.Count > maxPendingPerMailbox)
            {
                return EnvelopeSubmissionOutcome.Failed(EnvelopeBatchStatus.MailboxFull, mailbox.Key);
            }

            mailboxes.Add((mailbox.Key, lastCursor, stored));
        }

        var appended = new List<RelayMailboxAppend>(mailboxes.Count);
        foreach ((DeviceId recipient, long lastCursor, List<RelayEnvelope> stored) in mailboxes)
        {
            long cursor = lastCursor;
            var pending = new List<RelayPendingEnvelope>(stored.Count);
            foreach (RelayEnvelope envelope in stored)
            {
                cursor++;
                pending.Add(new RelayPendingEnvelope(cursor, envelope.Id, envelope.Data));
                write.Execute(
                    "INSERT INTO envelopes (recipient, id, cursor, data, stored_at, expires_at) VALUES ($r, $i, $c, $b, $now, $exp);",
                    ("$r", recipient.Value),
                    ("$i", envelope.Id.Value),
                    ("$c", cursor),
                    ("$b", envelope.Data),
                    ("$now", now),
                    ("$exp", expiresAt));
            }

            write.Execute("UPDATE mailboxes SET last_cursor = $c WHERE device_id = $d;", ("$c", cursor), ("$d", recipient.Value));
            appended.Add(new RelayMailboxAppend(recipient, pending));
        }

        return new EnvelopeSubmissionOutcome(EnvelopeBatchStatus.Stored, duplicates, null) { Appended = appended };
    }

    private static async Task<RelayOneTimePrekey?> TakeOneTimeKeyAsync(SqliteConnection connection, SqliteTransaction transaction, DeviceId deviceId, int kind, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(
            connection,
            transaction,
            """
            DELETE FROM one_time_prekeys
            WHERE device_id = $d AND kind = $k AND key_id = (SELECT min(key_id) FROM one_time_prekeys WHERE device_id = $d AND kind = $k)
            RETURNING key_id, key;
            """,
            ("$d", deviceId.Value),
            ("$k", kind));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new RelayOneTimePrekey(reader.GetInt64(0), (byte[])reader[1]) : null;
    }

    private static async Task<RelayDevice?> ReadDeviceAsync(SqliteConnection connection, SqliteTransaction? transaction, DeviceId deviceId, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(connection, transaction, $"SELECT {DeviceColumns} FROM devices WHERE device_id = $d;", ("$d", deviceId.Value));
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadDevice(reader) : null;
    }

    private static RelayDevice ReadDevice(SqliteDataReader reader) =>
        new(new UserId(reader.GetString(1)), new DeviceId(reader.GetString(0)), (byte[])reader[2], (byte[])reader[3], (byte[])reader[4])
        {
            EnvelopeKey = reader.IsDBNull(5) ? null : (byte[])reader[5],
        };

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, null, ConnectionPragmas, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using SqliteCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using SqliteCommand command = Command(connection, transaction, sql, parameters);
        return ScalarValue<T>(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
    }
}
