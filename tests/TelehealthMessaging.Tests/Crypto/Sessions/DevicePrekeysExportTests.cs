using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

public sealed class DevicePrekeysExportTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice _alice;
    private readonly SessionTestDevice _bob;

    public DevicePrekeysExportTests()
    {
        _alice = new SessionTestDevice("alice", _time);
        _bob = new SessionTestDevice("bob", _time);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public void Export_and_import_round_trip_including_replaced_prekeys()
    {
        _time.Advance(new PrekeyOptions().SignedPrekeyRotationInterval);
        Assert.True(_bob.Prekeys.Refresh());
        byte[] exported = _bob.Prekeys.Export();

        using DevicePrekeys restored = DevicePrekeys.Import(exported, _bob.Identity, SessionTestDevice.SmallPrekeys, _time);
        Assert.Equal(exported, restored.Export());
        Assert.Equal(_bob.Prekeys.CurrentSignedPrekey.Id, restored.CurrentSignedPrekey.Id);
        Assert.Equal(_bob.Prekeys.OneTimePrekeyCount, restored.OneTimePrekeyCount);
        Assert.Equal(_bob.Prekeys.KemOneTimePrekeyCount, restored.KemOneTimePrekeyCount);
    }

    [Fact]
    public void A_responder_restarted_from_exported_prekeys_accepts_a_prekey_message_and_deletes_the_one_time_prekeys()
    {
        PrekeyBundle bundle = _bob.IssueBundle();
        _alice.SessionsWith(_bob).Initiate(bundle);
        byte[] first = _alice.Encrypt(_bob, "after your restart");

        using DevicePrekeys restored = DevicePrekeys.Import(_bob.Prekeys.Export(), _bob.Identity, SessionTestDevice.SmallPrekeys, _time);
        using var sessions = new PeerDeviceSessions(_bob.Identity, _alice.Identity.PublicKey, new RatchetOptions(), _time);
        Assert.Equal("after your restart"u8.ToArray(), sessions.Decrypt(first, restored));
        Assert.Null(restored.FindOneTimePrekey(bundle.OneTimePrekey!.Id));
        Assert.Null(restored.FindKemPrekey(bundle.KemPrekey.Id));
    }

    [Fact]
    public void Import_refuses_another_identity_a_bad_version_trailing_bytes_a_rewound_id_counter_and_truncations()
    {
        byte[] exported = _bob.Prekeys.Export();

        Assert.Equal(CryptographicFailureReason.InvalidSignature, ImportFailure(exported, _alice.Identity));
        byte[] badVersion = (byte[])exported.Clone();
        badVersion[0] = 2;
        Assert.Equal(CryptographicFailureReason.UnsupportedAlgorithm, ImportFailure(badVersion, _bob.Identity));
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ImportFailure([.. exported, 0], _bob.Identity));
        byte[] rewoundCounter = (byte[])exported.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(rewoundCounter.AsSpan(1), 1);
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ImportFailure(rewoundCounter, _bob.Identity));

        // Every length through the first records, then every 37th: each attempt re-verifies the signatures read so far,
        // so a full sweep of the ~5 KB export would take seconds without covering a different code path.
        for (int length = 0; length < exported.Length; length += length < 400 ? 1 : 37)
        {
            Assert.Equal(CryptographicFailureReason.MalformedEncoding, ImportFailure(exported[..length], _bob.Identity));
        }
    }

    [Fact]
    public void Import_refuses_a_private_key_that_does_not_match_its_public_prekey()
    {
        byte[] exported = _bob.Prekeys.Export();

        // The first signed prekey's private key follows its public record (version, next id, count, record).
        PublicPrekey signed = _bob.Prekeys.CurrentSignedPrekey;
        int privateKeyOffset = 1 + 4 + 2 + (1 + 1 + 4 + 8 + 4 + 32 + 4 + 64);
        Assert.Equal(signed.Id, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(exported.AsSpan(1 + 4 + 2 + 2)));
        exported[privateKeyOffset] ^= 0x40;

        Assert.Equal(CryptographicFailureReason.InvalidPrivateKey, ImportFailure(exported, _bob.Identity));
    }

    private CryptographicFailureReason ImportFailure(byte[] exported, DeviceIdentity identity) =>
        Assert.Throws<CryptographicFailureException>(() => DevicePrekeys.Import(exported, identity, SessionTestDevice.SmallPrekeys, _time)).Reason;
}
