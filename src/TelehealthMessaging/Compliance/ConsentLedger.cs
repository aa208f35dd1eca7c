using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Compliance;

/// <summary>
/// Keeps every user's consents per <see cref="ConsentPurpose"/> in an <see cref="IDataStore"/> scope of its own
/// (<see cref="Scope"/>), with full history: withdrawing ends a grant without deleting it.
/// </summary>
/// <remarks>
/// Thread-safe. When an <see cref="AuditLog"/> is given, every grant and withdrawal is appended to it after the
/// ledger record is durable (so the audit never claims a consent the ledger does not hold).
/// </remarks>
public sealed class ConsentLedger : IDisposable
{
    /// <summary>The data-store scope that holds the ledger.</summary>
    public const string Scope = "consent";

    /// <summary>The longest notice version accepted.</summary>
    public const int MaxNoticeVersionLength = 32;

    private const byte Version = 1;
    private readonly IDataStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly AuditLog? _auditLog;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Opens the ledger kept in <paramref name="store"/>.</summary>
    /// <param name="store">Where the ledger lives.</param>
    /// <param name="timeProvider">Stamps grants and withdrawals; <see cref="TimeProvider.System"/> when omitted.</param>
    /// <param name="auditLog">Receives a record of every grant and withdrawal; none when omitted.</param>
    public ConsentLedger(IDataStore store, TimeProvider? timeProvider = null, AuditLog? auditLog = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _auditLog = auditLog;
    }

    /// <summary>
    /// Records that <paramref name="subject"/> consents to <paramref name="purpose"/> under notice
    /// <paramref name="noticeVersion"/>. Idempotent while that grant is in force; a grant under another notice version
    /// ends the earlier grant at the same instant.
    /// </summary>
    /// <param name="subject">The user who consents.</param>
    /// <param name="purpose">What the consent allows.</param>
    /// <param name="noticeVersion">The privacy notice version shown: 1 to 32 characters of <c>A-Z a-z 0-9 - . _</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The grant in force.</returns>
    /// <exception cref="ArgumentException">An argument is invalid.</exception>
    public async Task<ConsentRecord> GrantAsync(UserId subject, ConsentPurpose purpose, string noticeVersion, CancellationToken cancellationToken = default)
    {
        CheckSubject(subject);
        CheckPurpose(purpose);
        CheckNoticeVersion(noticeVersion);
        ConsentRecord granted;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<(string Name, ConsentRecord Record)> history = await ReadAsync(subject, cancellationToken).ConfigureAwait(false);
            (string Name, ConsentRecord Record) active = history.LastOrDefault(h => h.Record.Purpose == purpose && h.Record.IsActive);
            if (active.Record is not null && active.Record.NoticeVersion == noticeVersion)
            {
                return active.Record;
            }

            DateTimeOffset now = _timeProvider.GetUtcNow();
            if (active.Record is not null)
            {
                await WriteAsync(subject, active.Name, active.Record.Withdrawn(now), cancellationToken).ConfigureAwait(false);
            }

            granted = new ConsentRecord(Identifier.NewValue(), subject, purpose, noticeVersion, now, null);
            await WriteAsync(subject, RecordName(history.Count), granted, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        await AuditAsync(AuditAction.ConsentGranted, granted, cancellationToken).ConfigureAwait(false);
        return granted;
    }

    /// <summary>Withdraws <paramref name="subject"/>'s consent to <paramref name="purpose"/>. The grant stays in the history.</summary>
    /// <param name="subject">The user.</param>
    /// <param name="purpose">The purpose.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The ended grant, or <see langword="null"/> when no consent for the purpose was in force.</returns>
    /// <exception cref="ArgumentException">An argument is invalid.</exception>
    public async Task<ConsentRecord?> WithdrawAsync(UserId subject, ConsentPurpose purpose, CancellationToken cancellationToken = default)
    {
        CheckSubject(subject);
        CheckPurpose(purpose);
        ConsentRecord withdrawn;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<(string Name, ConsentRecord Record)> history = await ReadAsync(subject, cancellationToken).ConfigureAwait(false);
            (string Name, ConsentRecord Record) active = history.LastOrDefault(h => h.Record.Purpose == purpose && h.Record.IsActive);
            if (active.Record is null)
            {
                return null;
            }

            withdrawn = active.Record.Withdrawn(_timeProvider.GetUtcNow());
            await WriteAsync(subject, active.Name, withdrawn, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        await AuditAsync(AuditAction.ConsentWithdrawn, withdrawn, cancellationToken).ConfigureAwait(false);
        return withdrawn;
    }

    /// <summary>Whether <paramref name="subject"/> has a consent to <paramref name="purpose"/> in force.</summary>
    /// <param name="subject">The user.</param>
    /// <param name="purpose">The purpose.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when granted and not withdrawn.</returns>
    public async Task<bool> IsGrantedAsync(UserId subject, ConsentPurpose purpose, CancellationToken cancellationToken = default)
    {
        CheckSubject(subject);
        CheckPurpose(purpose);
        List<(string Name, ConsentRecord Record)> history = await ReadAsync(subject, cancellationToken).ConfigureAwait(false);
        return history.Any(h => h.Record.Purpose == purpose && h.Record.IsActive);
    }

    /// <summary>Throws unless <paramref name="subject"/> has a consent in force for every one of <paramref name="purposes"/>.</summary>
    /// <param name="subject">The user.</param>
    /// <param name="purposes">The purposes the operation needs.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when every consent is in force.</returns>
    /// <exception cref="ConsentRequiredException">Some consents are missing; it names those purposes only.</exception>
    public async Task RequireAsync(UserId subject, IEnumerable<ConsentPurpose> purposes, CancellationToken cancellationToken = default)
    {
        CheckSubject(subject);
        ArgumentNullException.ThrowIfNull(purposes);
        List<ConsentPurpose> required = purposes.ToList();
        required.ForEach(CheckPurpose);
        List<(string Name, ConsentRecord Record)> history = await ReadAsync(subject, cancellationToken).ConfigureAwait(false);
        var missing = required.Where(p => !history.Any(h => h.Record.Purpose == p && h.Record.IsActive)).ToList();
        if (missing.Count > 0)
        {
            throw new ConsentRequiredException(missing);
        }
    }

    /// <summary>Every consent record of <paramref name="subject"/>, oldest grant first, withdrawn ones included.</summary>
    /// <param name="subject">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The history.</returns>
    public async Task<IReadOnlyList<ConsentRecord>> GetHistoryAsync(UserId subject, CancellationToken cancellationToken = default)
    {
        CheckSubject(subject);
        List<(string Name, ConsentRecord Record)> history = await ReadAsync(subject, cancellationToken).ConfigureAwait(false);
        return history.Select(h => h.Record).ToList();
    }

    /// <summary>Releases the lock that serialises writes. The store is not disposed.</summary>
    public void Dispose() => _gate.Dispose();

    /// <summary>Names the type only.</summary>
    /// <returns><c>ConsentLedger</c>.</returns>
    public override string ToString() => nameof(ConsentLedger);

    internal static byte[] Encode(ConsentRecord record)
    {
        byte[] id = Encoding.ASCII.GetBytes(record.Id);
        byte[] notice = Encoding.ASCII.GetBytes(record.NoticeVersion);
        byte[] bytes = new byte[1 + 1 + 1 + id.Length + 1 + notice.Length + 8 + 1 + 8];
        int i = 0;
        bytes[i++] = Version;
        bytes[i++] = (byte)record.Purpose;
        bytes[i++] = (byte)id.Length;
        id.CopyTo(bytes, i);
        i += id.Length;
        bytes[i++] = (byte)notice.Length;
        notice.CopyTo(bytes, i);
        i += notice.Length;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(i), record.GrantedAt.UtcTicks);
        i += 8;
        bytes[i++] = record.WithdrawnAt is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(i), record.WithdrawnAt?.UtcTicks ?? 0);
        return bytes;
    }

    internal static ConsentRecord Decode(UserId subject, ReadOnlySpan<byte> bytes)
    {
        try
        {
            int i = 0;
            if (bytes[i++] != Version)
            {
                throw new FormatException("Unknown consent record version.");
            }

            var purpose = (ConsentPurpose)bytes[i++];
            CheckPurpose(purpose);
            int idLength = bytes[i++];
            string id = Identifier.Validate(Encoding.ASCII.GetString(bytes.Slice(i, idLength)));
            i += idLength;
            int noticeLength = bytes[i++];
            string notice = Encoding.ASCII.GetString(bytes.Slice(i, noticeLength));
            CheckNoticeVersion(notice);
            i += noticeLength;
            var granted = new DateTimeOffset(BinaryPrimitives.ReadInt64BigEndian(bytes[i..]), TimeSpan.Zero);
            i += 8;
            bool withdrawn = bytes[i++] == 1;
            long withdrawnTicks = BinaryPrimitives.ReadInt64BigEndian(bytes[i..]);
            if (i + 8 != bytes.Length)
            {
                throw new FormatException("Trailing bytes after a consent record.");
            }

            return new ConsentRecord(id, subject, purpose, notice, granted, withdrawn ? new DateTimeOffset(withdrawnTicks, TimeSpan.Zero) : null);
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException or FormatException)
        {
            throw new TelehealthException(TelehealthErrorCode.IntegrityCheckFailed, "A stored consent record cannot be read.", ex);
        }
    }

    private static string RecordName(int index) => index.ToString("D10", CultureInfo.InvariantCulture);

    private async Task<List<(string Name, ConsentRecord Record)>> ReadAsync(UserId subject, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> names = await _store.ListAsync(Scope, subject.Value, cancellationToken).ConfigureAwait(false);
        var history = new List<(string, ConsentRecord)>(names.Count);
        foreach (string name in names)
        {
            byte[]? bytes = await _store.GetAsync(new DataRecordKey(Scope, subject.Value, name), cancellationToken).ConfigureAwait(false);
            if (bytes is not null)
            {
                history.Add((name, Decode(subject, bytes)));
            }
        }

        return history;
    }

    private Task WriteAsync(UserId subject, string name, ConsentRecord record, CancellationToken cancellationToken) =>
        _store.SetAsync(new DataRecordKey(Scope, subject.Value, name), Encode(record), cancellationToken);

    private async Task AuditAsync(AuditAction action, ConsentRecord record, CancellationToken cancellationToken)
    {
        if (_auditLog is not null)
        {
            var entry = new AuditEntry(action, record.Subject, [AuditSubject.Of(record.Subject), AuditSubject.Of(record)], AuditOutcome.Success, AuditCode.Of(record.Purpose));
            await _auditLog.AppendAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void CheckSubject(UserId subject)
    {
        if (subject.Value is null)
        {
            throw new ArgumentException("The subject must be a valid user id, not the default value.", nameof(subject));
        }
    }

    private static void CheckPurpose(ConsentPurpose purpose)
    {
        if (!Enum.IsDefined(purpose))
        {
            throw new ArgumentOutOfRangeException(nameof(purpose), "The purpose is not a defined ConsentPurpose.");
        }
    }

    private static void CheckNoticeVersion(string noticeVersion)
    {
        ArgumentNullException.ThrowIfNull(noticeVersion);
        if (noticeVersion.Length is 0 or > MaxNoticeVersionLength ||
            !noticeVersion.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
        {
            throw new ArgumentException($"A notice version is 1 to {MaxNoticeVersionLength} characters of A-Z a-z 0-9 - . _.", nameof(noticeVersion));
        }
    }
}
