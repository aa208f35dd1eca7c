using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;
using static TelehealthMessaging.Tests.Compliance.ComplianceFixtures;

namespace TelehealthMessaging.Tests.Compliance;

public sealed class AuditLogTests : IDisposable
{
    private const int Records = 10;
    private const int Interval = 4; // checkpoints after records 3 and 7; the head signs record 9

    private readonly InMemoryDataStore _store = new();
    private readonly FakeTimeProvider _clock = Clock();
    private readonly AuditSigner _signer;
    private readonly Ed25519PrivateKey _key;

    public AuditLogTests() => (_signer, _key) = NewSigner();

    public void Dispose() => _key.Dispose();

    public static TheoryData<string, AuditProblem, long> Tampering() => new()
    {
        { "edit record 5 keeping its hash", AuditProblem.RecordModified, 5 },
        { "flip a byte of record 0", AuditProblem.RecordModified, 0 },
        { "delete record 5", AuditProblem.RecordMissing, 5 },
        { "delete record 0", AuditProblem.RecordMissing, 0 },
        { "delete record 5 and renumber the rest", AuditProblem.RecordMissing, 5 },
        { "insert a forged record at 5 and renumber the rest", AuditProblem.RecordInserted, 5 },
        { "insert a copy of record 2 under an extra name after 5", AuditProblem.RecordInserted, 6 },
        { "swap records 4 and 5", AuditProblem.RecordsReordered, 4 },
        { "relink record 6 to record 4", AuditProblem.ChainBroken, 6 },
        { "truncate the last 3 records", AuditProblem.Truncated, 7 },
        { "truncate the last record", AuditProblem.Truncated, 9 },
        { "edit record 2 and recompute every later hash", AuditProblem.CheckpointMismatch, 3 },
        { "edit record 9 and recompute its hash", AuditProblem.CheckpointMismatch, 9 },
        { "delete the head", AuditProblem.UnsignedRecords, 8 },
        { "corrupt the head signature", AuditProblem.BadSignature, 9 },
        { "re-sign the head with another key", AuditProblem.BadSignature, 9 },
        { "append two forged records", AuditProblem.UnsignedRecords, 11 },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task VerifyAsync_reports_each_kind_of_tampering_at_the_first_bad_index(string tampering, AuditProblem problem, long index)
    {
        using AuditLog log = await FilledLogAsync();
        Assert.True((await log.VerifyAsync()).IsValid);

        await TamperAsync(tampering);
        AuditVerificationResult result = await log.VerifyAsync();

        Assert.False(result.IsValid);
        Assert.Equal(problem, result.Problem);
        Assert.Equal(index, result.FirstBadIndex);
    }

    [Fact]
    public async Task Appended_records_carry_sequence_time_device_and_entry_and_verify()
    {
        using AuditLog log = NewLog(_store, _signer, _clock);
        var message = MessageId.New();
        AuditRecord first = await log.AppendAsync(new AuditEntry(AuditAction.MessageSent, Patient, [AuditSubject.Of(message)]));
        _clock.Advance(TimeSpan.FromMinutes(3));
        AuditRecord second = await log.AppendAsync(new AuditEntry(AuditAction.CallbackTransition, Patient, [AuditSubject.Of(new CallbackRequestId("cb-1"))], AuditOutcome.Denied, AuditCode.Of(CallbackAction.RecordNoAnswer)));

        Assert.Equal((0, Start, Device), (first.Sequence, first.RecordedAt, first.Device));
        Assert.Equal((1, Start.AddMinutes(3)), (second.Sequence, second.RecordedAt));
        Assert.Equal("record-no-answer", second.Code!.Value.Code);
        Assert.Equal(AuditOutcome.Denied, second.Outcome);

        List<AuditRecord> read = await log.ReadAllAsync().ToListAsync();
        Assert.Equal([0L, 1L], read.Select(r => r.Sequence));
        Assert.Equal(AuditSubject.Of(message), Assert.Single(read[0].Subjects));
        Assert.Equal(first.Hash.ToArray(), read[0].Hash.ToArray());
        Assert.Equal(new AuditVerificationResult(2, AuditProblem.None, null).ToString(), (await log.VerifyAsync()).ToString());
    }

    [Fact]
    public async Task Empty_log_verifies_and_cannot_be_checkpointed()
    {
        using AuditLog log = NewLog(_store, _signer, _clock);
        AuditVerificationResult result = await log.VerifyAsync();
        Assert.True(result.IsValid);
        Assert.Equal(0, result.RecordCount);
        await Assert.ThrowsAsync<InvalidOperationException>(() => log.CheckpointAsync());
    }

    [Fact]
    public async Task Checkpoints_are_kept_every_interval_and_on_demand()
    {
        using AuditLog log = await FilledLogAsync();
        Assert.Equal([Name(3), Name(7)], await _store.ListAsync(AuditLog.Scope, "checkpoints"));

        AuditCheckpoint checkpoint = await log.CheckpointAsync();

        Assert.Equal(9, checkpoint.Sequence);
        Assert.Equal([Name(3), Name(7), Name(9)], await _store.ListAsync(AuditLog.Scope, "checkpoints"));
        AuditRecord last = (await log.ReadAllAsync().ToListAsync())[^1];
        Assert.Equal(last.Hash.ToArray(), checkpoint.Hash.ToArray());
        Assert.Equal(_signer.PublicKey.ToArray(), checkpoint.PublicKey.ToArray());
        AuditCheckpoint copy = AuditCheckpoint.FromBytes(checkpoint.ToBytes());
        Assert.Equal(checkpoint.Signature.ToArray(), copy.Signature.ToArray());
        Assert.True((await log.VerifyAsync(copy)).IsValid);
    }

    [Fact]
    public async Task A_rollback_of_the_whole_store_is_caught_only_against_a_checkpoint_kept_elsewhere()
    {
        using AuditLog log = NewLog(_store, _signer, _clock, Interval);
        for (int i = 0; i < 6; i++)
        {
            await AppendAsync(log, i);
        }

        // The attacker copies the store as it is now (records 0-5 and the head that signs 5) ...
        var snapshot = new Dictionary<DataRecordKey, byte[]>();
        foreach (string collection in new[] { "records", "checkpoints", "head" })
        {
            foreach (string name in await _store.ListAsync(AuditLog.Scope, collection))
            {
                var key = new DataRecordKey(AuditLog.Scope, collection, name);
                snapshot[key] = (await _store.GetAsync(key))!;
            }
        }

        for (int i = 6; i < Records; i++)
        {
            await AppendAsync(log, i);
        }

        AuditCheckpoint kept = await log.CheckpointAsync();

        // ... and later puts it back, removing records 6-9.
        await _store.EraseScopeAsync(AuditLog.Scope);
        foreach ((DataRecordKey key, byte[] value) in snapshot)
        {
            await _store.SetAsync(key, value);
        }

        Assert.True((await log.VerifyAsync()).IsValid);
        AuditVerificationResult result = await log.VerifyAsync(kept);
        Assert.Equal((AuditProblem.Truncated, 6L), (result.Problem, result.FirstBadIndex));
    }

    [Fact]
    public async Task A_checkpoint_from_another_key_is_not_trusted_unless_listed_as_a_previous_key()
    {
        using AuditLog log = await FilledLogAsync();
        AuditCheckpoint oldCheckpoint = await log.CheckpointAsync();

        // The device's identity key changes: a new signer over the same store.
        (AuditSigner newSigner, Ed25519PrivateKey newKey) = NewSigner();
        using (newKey)
        {
            using var untrusting = new AuditLog(_store, Device, newSigner, _clock, new AuditLogOptions { CheckpointInterval = Interval });
            AuditVerificationResult refused = await untrusting.VerifyAsync();
            Assert.Equal((AuditProblem.BadSignature, 3L), (refused.Problem, refused.FirstBadIndex));

            var options = new AuditLogOptions { CheckpointInterval = Interval };
            options.PreviousSigningKeys.Add(_signer.PublicKey);
            using var rotated = new AuditLog(_store, Device, newSigner, _clock, options);
            await rotated.AppendAsync(new AuditEntry(AuditAction.IdentityKeyChanged, Patient, [AuditSubject.Of(Device)]));
            Assert.True((await rotated.VerifyAsync(oldCheckpoint)).IsValid);
        }
    }

    [Theory]
    [InlineData(3, 0)] // crash before the record is written
    [InlineData(3, 1)] // after the record, before the checkpoint (record 3 closes an interval)
    [InlineData(3, 2)] // after the checkpoint, before the head
    [InlineData(4, 0)]
    [InlineData(4, 1)] // after the record, before the head
    [InlineData(0, 1)] // the very first record, before any head exists
    public async Task A_crash_between_writes_leaves_a_log_that_verifies_and_keeps_working(int crashingSequence, int writesThatLand)
    {
        var crashing = new CrashingDataStore(_store);
        using (AuditLog log = NewLog(crashing, _signer, _clock, Interval))
        {
            for (int i = 0; i < crashingSequence; i++)
            {
                await AppendAsync(log, i);
            }

            crashing.CrashAfter(writesThatLand);
            await Assert.ThrowsAsync<IOException>(() => AppendAsync(log, crashingSequence));
        }

        // The process restarts over whatever reached the store.
        using AuditLog reopened = NewLog(_store, _signer, _clock, Interval);
        AuditVerificationResult afterCrash = await reopened.VerifyAsync();
        Assert.True(afterCrash.IsValid, afterCrash.ToString());
        long survived = afterCrash.RecordCount;
        Assert.Equal(crashingSequence + (writesThatLand > 0 ? 1 : 0), survived);

        for (int i = 0; i < 3; i++)
        {
            AuditRecord appended = await AppendAsync(reopened, i);
            Assert.Equal(survived + i, appended.Sequence);
        }

        AuditVerificationResult result = await reopened.VerifyAsync();
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(survived + 3, result.RecordCount);
    }

    [Fact]
    public async Task A_failed_write_in_the_same_process_does_not_fork_the_chain()
    {
        var crashing = new CrashingDataStore(_store);
        using AuditLog log = NewLog(crashing, _signer, _clock, Interval);
        await AppendAsync(log, 0);
        crashing.CrashAfter(1); // the record lands, its head does not
        await Assert.ThrowsAsync<IOException>(() => AppendAsync(log, 1));
        crashing.CrashAfter(int.MaxValue);

        AuditRecord next = await AppendAsync(log, 2);

        Assert.Equal(2, next.Sequence);
        Assert.True((await log.VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Appending_over_a_tampered_tail_is_refused_rather_than_signed()
    {
        using (AuditLog log = await FilledLogAsync())
        {
            await TamperAsync("append two forged records");
        }

        using AuditLog reopened = NewLog(_store, _signer, _clock, Interval);
        var ex = await Assert.ThrowsAsync<TelehealthException>(() => AppendAsync(reopened, 0));
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
        Assert.Equal(Records + 2, (await _store.ListAsync(AuditLog.Scope, "records")).Count);
    }

    [Fact]
    public async Task Concurrent_appends_get_distinct_consecutive_sequence_numbers_and_verify()
    {
        using AuditLog log = NewLog(_store, _signer, _clock, Interval);

        AuditRecord[] appended = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => AppendAsync(log, i))));

        Assert.Equal(Enumerable.Range(0, 64).Select(i => (long)i), appended.Select(r => r.Sequence).Order());
        AuditVerificationResult result = await log.VerifyAsync();
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(64, result.RecordCount);
    }

    [Fact]
    public async Task A_signer_whose_signature_does_not_verify_is_refused()
    {
        (AuditSigner other, Ed25519PrivateKey otherKey) = NewSigner();
        using (otherKey)
        {
            var lying = new AuditSigner(_signer.PublicKey, message => otherKey.Sign(message.Span));
            using AuditLog log = NewLog(_store, lying, _clock);
            var ex = await Assert.ThrowsAsync<TelehealthException>(() => AppendAsync(log, 0));
            Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
            Assert.NotNull(other);
        }
    }

    [Fact]
    public void Entries_accept_codes_only_where_the_action_takes_one()
    {
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.CallbackTransition, Patient));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.CallbackTransition, Patient, code: AuditCode.Of(ConsentPurpose.Research)));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.MessageSent, Patient, code: AuditCode.Of(CallbackAction.Accept)));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.ConsentGranted, Patient));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.MessageSent, default));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.MessageSent, Patient, [default(AuditSubject)]));
        Assert.Throws<ArgumentException>(() => new AuditEntry(AuditAction.MessageSent, Patient, Enumerable.Range(0, 9).Select(_ => AuditSubject.Of(MessageId.New()))));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AuditEntry((AuditAction)99, Patient));
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditCode.Of((CallbackAction)99));
        Assert.Throws<ArgumentException>(() => AuditSubject.Of(default(MessageId)));
        Assert.Equal("ConsentPurpose:health-data-processing", AuditCode.Of(ConsentPurpose.HealthDataProcessing).ToString());
    }

    [Fact]
    public void Bad_options_and_arguments_are_refused_when_the_log_is_built()
    {
        Assert.Throws<ArgumentException>(() => new AuditLog(_store, default, _signer));
        Assert.Throws<ArgumentException>(() => new AuditLog(_store, Device, _signer, options: new AuditLogOptions { CheckpointInterval = 0 }));
        var options = new AuditLogOptions();
        options.PreviousSigningKeys.Add(new byte[31]);
        Assert.Throws<ArgumentException>(() => new AuditLog(_store, Device, _signer, options: options));
        Assert.Throws<ArgumentException>(() => new AuditSigner(new byte[31], _ => []));
        Assert.Throws<TelehealthException>(() => AuditCheckpoint.FromBytes(new byte[10]));
    }

    private static string Name(long sequence) => sequence.ToString("D20", CultureInfo.InvariantCulture);

    private static DataRecordKey RecordKey(long sequence) => new(AuditLog.Scope, "records", Name(sequence));

    private static DataRecordKey RecordKey(string name) => new(AuditLog.Scope, "records", name);

    private static readonly DataRecordKey HeadKey = new(AuditLog.Scope, "head", "current");

    private static Task<AuditRecord> AppendAsync(AuditLog log, int i) => log.AppendAsync(
        i % 2 == 0
            ? new AuditEntry(AuditAction.MessageSent, Patient, [AuditSubject.Of(new ConversationId("c-1")), AuditSubject.Of(new MessageId("m-" + i.ToString(CultureInfo.InvariantCulture)))])
            : new AuditEntry(AuditAction.MessageRead, Patient, [AuditSubject.Of(new MessageId("m-" + i.ToString(CultureInfo.InvariantCulture)))]));

    private async Task<AuditLog> FilledLogAsync()
    {
        AuditLog log = NewLog(_store, _signer, _clock, Interval);
        for (int i = 0; i < Records; i++)
        {
            await AppendAsync(log, i);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        return log;
    }

    private async Task<byte[]> GetAsync(long sequence) => (await _store.GetAsync(RecordKey(sequence)))!;

    private async Task<AuditRecord> ReadAsync(long sequence) => AuditEncoding.DecodeRecord(await GetAsync(sequence));

    private static byte[] Encode(long sequence, AuditRecord like, byte[] previousHash, AuditAction? action = null) =>
        AuditEncoding.EncodeRecord(sequence, like.RecordedAt, like.Device, new AuditEntry(action ?? like.Action, like.Actor, like.Subjects), previousHash).Stored;

    private async Task RenameAsync(long from, long to)
    {
        byte[] value = await GetAsync(from);
        await _store.DeleteAsync(RecordKey(from));
        await _store.SetAsync(RecordKey(to), value);
    }

    // Each tampering is what someone with write access to the store, but without the device key, can do.
    private async Task TamperAsync(string tampering)
    {
        switch (tampering)
        {
            case "edit record 5 keeping its hash":
                {
                    AuditRecord record = await ReadAsync(5);
                    byte[] edited = Encode(5, record, record.PreviousHashBytes, AuditAction.IntakeExported);
                    record.HashBytes.CopyTo(edited, edited.Length - 32);
                    await _store.SetAsync(RecordKey(5), edited);
                    break;
                }

            case "flip a byte of record 0":
                {
                    byte[] value = await GetAsync(0);
                    value[40] ^= 0x01;
                    await _store.SetAsync(RecordKey(0), value);
                    break;
                }

            case "delete record 5":
                await _store.DeleteAsync(RecordKey(5));
                break;
            case "delete record 0":
                await _store.DeleteAsync(RecordKey(0));
                break;
            case "delete record 5 and renumber the rest":
                await _store.DeleteAsync(RecordKey(5));
                for (long s = 6; s < Records; s++)
                {
                    await RenameAsync(s, s - 1);
                }

                break;
            case "insert a forged record at 5 and renumber the rest":
                {
                    for (long s = Records - 1; s >= 5; s--)
                    {
                        await RenameAsync(s, s + 1);
                    }

                    AuditRecord previous = await ReadAsync(4);
                    await _store.SetAsync(RecordKey(5), Encode(5, previous, previous.HashBytes, AuditAction.IntakeExported));
                    break;
                }

            case "insert a copy of record 2 under an extra name after 5":
                await _store.SetAsync(RecordKey(Name(5) + "a"), await GetAsync(2));
                break;
            case "swap records 4 and 5":
                {
                    byte[] four = await GetAsync(4);
                    await _store.SetAsync(RecordKey(4), await GetAsync(5));
                    await _store.SetAsync(RecordKey(5), four);
                    break;
                }

            case "relink record 6 to record 4":
                {
                    AuditRecord record = await ReadAsync(6);
                    await _store.SetAsync(RecordKey(6), Encode(6, record, (await ReadAsync(4)).HashBytes));
                    break;
                }

            case "truncate the last 3 records":
                for (long s = Records - 3; s < Records; s++)
                {
                    await _store.DeleteAsync(RecordKey(s));
                }

                break;
            case "truncate the last record":
                await _store.DeleteAsync(RecordKey(Records - 1));
                break;
            case "edit record 2 and recompute every later hash":
                {
                    byte[] previousHash = (await ReadAsync(1)).HashBytes;
                    for (long s = 2; s < Records; s++)
                    {
                        AuditRecord record = await ReadAsync(s);
                        byte[] stored = Encode(s, record, previousHash, s == 2 ? AuditAction.IntakeExported : null);
                        await _store.SetAsync(RecordKey(s), stored);
                        previousHash = stored[^32..];
                    }

                    break;
                }

            case "edit record 9 and recompute its hash":
                {
                    AuditRecord record = await ReadAsync(9);
                    await _store.SetAsync(RecordKey(9), Encode(9, record, record.PreviousHashBytes, AuditAction.IntakeExported));
                    break;
                }

            case "delete the head":
                await _store.DeleteAsync(HeadKey);
                break;
            case "corrupt the head signature":
                {
                    byte[] head = (await _store.GetAsync(HeadKey))!;
                    head[^1] ^= 0x80;
                    await _store.SetAsync(HeadKey, head);
                    break;
                }

            case "re-sign the head with another key":
                {
                    AuditCheckpoint head = AuditCheckpoint.FromBytes((await _store.GetAsync(HeadKey))!);
                    using var forger = Ed25519PrivateKey.Generate();
                    byte[] payload = AuditEncoding.CheckpointPayload(head.Sequence, head.HashBytes, head.SignedAt, forger.PublicKey);
                    byte[] forged = [.. payload, .. forger.Sign(AuditEncoding.SignedMessage(payload))];
                    await _store.SetAsync(HeadKey, forged);
                    break;
                }

            case "append two forged records":
                {
                    AuditRecord last = await ReadAsync(Records - 1);
                    byte[] first = Encode(Records, last, last.HashBytes, AuditAction.DataErased);
                    await _store.SetAsync(RecordKey(Records), first);
                    await _store.SetAsync(RecordKey(Records + 1), Encode(Records + 1, last, first[^32..], AuditAction.DataErased));
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(tampering), tampering, null);
        }
    }
}
