using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

public sealed class RatchetSessionTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice _alice;
    private readonly SessionTestDevice _bob;

    public RatchetSessionTests()
    {
        var options = new RatchetOptions { MaxSkip = 20, MaxSkippedMessageKeys = 30 };
        _alice = new SessionTestDevice("alice", _time, options);
        _bob = new SessionTestDevice("bob", _time, options);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public void Initiator_sends_prekey_messages_until_the_responder_answers_then_ratchet_messages()
    {
        _alice.Initiate(_bob);
        byte[] first = _alice.Encrypt(_bob, "first");
        byte[] second = _alice.Encrypt(_bob, "second");
        Assert.Equal(SessionMessage.TypePrekey, first[1]);
        Assert.Equal(SessionMessage.TypePrekey, second[1]);

        Assert.Equal("second", _bob.Decrypt(_alice, second));
        Assert.Equal("first", _bob.Decrypt(_alice, first));
        byte[] reply = _bob.Encrypt(_alice, "reply");
        Assert.Equal(SessionMessage.TypeRatchet, reply[1]);
        Assert.Equal("reply", _alice.Decrypt(_bob, reply));

        byte[] third = _alice.Encrypt(_bob, "third");
        Assert.Equal(SessionMessage.TypeRatchet, third[1]);
        Assert.Equal("third", _bob.Decrypt(_alice, third));
    }

    [Fact]
    public void Steady_state_overhead_of_a_ratchet_message_is_at_most_110_bytes()
    {
        EstablishBothWays();
        foreach (int length in new[] { 0, 1, 100, 4096 })
        {
            byte[] message = _alice.SessionsWith(_bob).Encrypt(new byte[length]);
            Assert.Equal(SessionMessage.RatchetOverhead, message.Length - length);
            Assert.True(message.Length - length <= 110, $"overhead {message.Length - length}");
            _bob.SessionsWith(_alice).Decrypt(message, _bob.Prekeys);
        }

        Assert.Equal(62, SessionMessage.RatchetOverhead);
    }

    [Fact]
    public void Out_of_order_messages_within_max_skip_each_decrypt_once_across_ratchet_steps()
    {
        EstablishBothWays();
        byte[][] firstChain = Enumerable.Range(0, 5).Select(i => _alice.Encrypt(_bob, $"a{i}")).ToArray();
        Assert.Equal("a4", _bob.Decrypt(_alice, firstChain[4]));
        byte[] bobReply = _bob.Encrypt(_alice, "b0");
        Assert.Equal("b0", _alice.Decrypt(_bob, bobReply));
        byte[][] secondChain = Enumerable.Range(0, 3).Select(i => _alice.Encrypt(_bob, $"c{i}")).ToArray();

        Assert.Equal("c2", _bob.Decrypt(_alice, secondChain[2]));
        Assert.Equal("a1", _bob.Decrypt(_alice, firstChain[1]));
        Assert.Equal("c0", _bob.Decrypt(_alice, secondChain[0]));
        Assert.Equal("a0", _bob.Decrypt(_alice, firstChain[0]));
        Assert.Equal("a3", _bob.Decrypt(_alice, firstChain[3]));
        Assert.Equal("c1", _bob.Decrypt(_alice, secondChain[1]));
        Assert.Equal("a2", _bob.Decrypt(_alice, firstChain[2]));
        Assert.Equal(0, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);
    }

    [Fact]
    public void Decrypt_rejects_replayed_messages_as_duplicates_in_current_and_closed_chains()
    {
        _alice.Initiate(_bob);
        byte[] prekeyMessage = _alice.Encrypt(_bob, "hello");
        Assert.Equal("hello", _bob.Decrypt(_alice, prekeyMessage));
        AssertRefused(_bob, _alice, prekeyMessage, CryptographicFailureReason.DuplicateMessage);

        Assert.Equal("hi", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "hi")));
        byte[] ratchetMessage = _alice.Encrypt(_bob, "again");
        Assert.Equal("again", _bob.Decrypt(_alice, ratchetMessage));
        AssertRefused(_bob, _alice, ratchetMessage, CryptographicFailureReason.DuplicateMessage);

        // After more ratchet steps the old messages sit in closed chains; they are still recognised as replays.
        Assert.Equal("more", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "more")));
        Assert.Equal("later", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "later")));
        AssertRefused(_bob, _alice, ratchetMessage, CryptographicFailureReason.DuplicateMessage);
        AssertRefused(_bob, _alice, prekeyMessage, CryptographicFailureReason.DuplicateMessage);
    }

    [Fact]
    public void Message_beyond_max_skip_is_refused_and_the_session_is_unchanged()
    {
        EstablishBothWays();
        byte[][] messages = Enumerable.Range(0, 22).Select(i => _alice.Encrypt(_bob, $"m{i}")).ToArray();
        byte[] before = _bob.SessionsWith(_alice).Serialize();

        AssertRefused(_bob, _alice, messages[21], CryptographicFailureReason.TooManySkippedMessages);
        Assert.Equal(before, _bob.SessionsWith(_alice).Serialize());

        Assert.Equal("m20", _bob.Decrypt(_alice, messages[20]));
        Assert.Equal("m21", _bob.Decrypt(_alice, messages[21]));
        Assert.Equal("m0", _bob.Decrypt(_alice, messages[0]));
    }

    [Fact]
    public void Skipped_message_keys_expire_after_their_lifetime()
    {
        EstablishBothWays();
        byte[] late = _alice.Encrypt(_bob, "late");
        Assert.Equal("on time", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "on time")));
        Assert.Equal(1, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);

        _time.Advance(new RatchetOptions().SkippedMessageKeyLifetime);
        AssertRefused(_bob, _alice, late, CryptographicFailureReason.DuplicateMessage);
        Assert.Equal("next", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "next")));
        Assert.Equal(0, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);
    }

    [Fact]
    public void Skipped_message_keys_are_bounded_overall_dropping_the_oldest()
    {
        EstablishBothWays();
        byte[] oldest = _alice.Encrypt(_bob, "oldest");
        for (int round = 0; round < 2; round++)
        {
            byte[][] chain = Enumerable.Range(0, 20).Select(i => _alice.Encrypt(_bob, $"r{round}-{i}")).ToArray();
            Assert.Equal($"r{round}-19", _bob.Decrypt(_alice, chain[19]));
            Assert.Equal("ack", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "ack")));
        }

        Assert.Equal(30, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);
        AssertRefused(_bob, _alice, oldest, CryptographicFailureReason.DuplicateMessage);
    }

    [Fact]
    public void Every_single_bit_flip_and_truncation_of_a_ratchet_message_is_refused_and_changes_nothing()
    {
        EstablishBothWays();
        byte[] message = _alice.Encrypt(_bob, "take 5 mg");
        byte[] before = _bob.SessionsWith(_alice).Serialize();

        for (int bit = 0; bit < message.Length * 8; bit++)
        {
            byte[] flipped = (byte[])message.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, flipped));
        }

        for (int length = 0; length < message.Length; length++)
        {
            Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, message[..length]));
        }

        Assert.Equal(before, _bob.SessionsWith(_alice).Serialize());
        Assert.Equal("take 5 mg", _bob.Decrypt(_alice, message));
        Assert.Equal("still fine", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "still fine")));
    }

    /// <summary>
    /// Every bit outside the ML-KEM ciphertext is flipped. Inside it (1088 bytes) one bit per byte is flipped, cycling
    /// through the bit positions: each such flip takes the same path (FIPS 203 implicit rejection, then the AEAD
    /// refuses), and flipping all 8704 bits would take the run past 20 seconds.
    /// </summary>
    [Fact]
    public void Every_single_bit_flip_and_truncation_of_a_prekey_message_is_refused_and_consumes_no_prekey()
    {
        _alice.Initiate(_bob);
        byte[] message = _alice.Encrypt(_bob, "first contact");
        int oneTimeBefore = _bob.Prekeys.OneTimePrekeyCount;
        int kemBefore = _bob.Prekeys.KemOneTimePrekeyCount;
        const int KemCiphertextOffset = 2 + IdentityKey.EncodedSize + 32 + 4 + 1 + 4 + 4;
        Assert.Equal(message.Length, KemCiphertextOffset + MLKem768.CiphertextSize + SessionMessage.RatchetOverhead - 2 + "first contact".Length);

        for (int bit = 0; bit < message.Length * 8; bit++)
        {
            int offset = (bit / 8) - KemCiphertextOffset;
            if (offset >= 0 && offset < MLKem768.CiphertextSize && bit % 8 != offset % 8)
            {
                continue;
            }

            byte[] flipped = (byte[])message.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, flipped));
        }

        for (int length = 0; length < message.Length; length++)
        {
            Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, message[..length]));
        }

        Assert.Equal(0, _bob.SessionsWith(_alice).SessionCount);
        Assert.Equal(oneTimeBefore, _bob.Prekeys.OneTimePrekeyCount);
        Assert.Equal(kemBefore, _bob.Prekeys.KemOneTimePrekeyCount);
        Assert.Equal("first contact", _bob.Decrypt(_alice, message));
    }

    [Fact]
    public void One_time_prekeys_are_deleted_on_use_so_a_second_session_from_the_same_bundle_fails()
    {
        PrekeyBundle bundle = _bob.Prekeys.CreateBundle();
        uint oneTimeId = bundle.OneTimePrekey!.Id;
        _alice.SessionsWith(_bob).Initiate(bundle);
        Assert.Equal("hello", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "hello")));
        Assert.Null(_bob.Prekeys.FindOneTimePrekey(oneTimeId));
        Assert.Null(_bob.Prekeys.FindKemPrekey(bundle.KemPrekey.Id));

        // The same (captured) bundle used again, by a device of the same identity starting over.
        using var aliceAgain = new PeerDeviceSessions(_alice.Identity, _bob.Identity.PublicKey, new RatchetOptions(), _time);
        aliceAgain.Initiate(bundle);
        byte[] second = aliceAgain.Encrypt("again"u8);
        byte[] before = _bob.SessionsWith(_alice).Serialize();

        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, second));
        Assert.Equal(CryptographicFailureReason.UnknownPrekey, ex.Reason);
        Assert.Equal(before, _bob.SessionsWith(_alice).Serialize());
    }

    [Fact]
    public void Last_resort_kem_prekey_is_kept_after_use()
    {
        PrekeyBundle bundle = _bob.Prekeys.CreateBundle(kemPrekeyId: _bob.Prekeys.CurrentLastResortPrekey.Id);
        _alice.SessionsWith(_bob).Initiate(bundle);
        Assert.Equal("hello", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "hello")));
        Assert.NotNull(_bob.Prekeys.FindKemPrekey(bundle.KemPrekey.Id));
    }

    [Fact]
    public void Prekey_message_from_another_identity_is_refused()
    {
        using var mallory = new SessionTestDevice("mallory", _time);
        mallory.Initiate(_bob);
        byte[] message = mallory.Encrypt(_bob, "hello");
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => _bob.SessionsWith(_alice).Decrypt(message, _bob.Prekeys));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, ex.Reason);
    }

    [Fact]
    public void Forward_secrecy_a_copy_of_todays_state_cannot_decrypt_earlier_ciphertexts()
    {
        EstablishBothWays();
        byte[] earlier = _alice.Encrypt(_bob, "earlier");
        byte[] earlierReply;
        Assert.Equal("earlier", _bob.Decrypt(_alice, earlier));
        earlierReply = _bob.Encrypt(_alice, "earlier reply");
        Assert.Equal("earlier reply", _alice.Decrypt(_bob, earlierReply));
        Assert.Equal("today", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "today")));

        using PeerDeviceSessions stolenBob = PeerDeviceSessions.Deserialize(_bob.SessionsWith(_alice).Serialize(), _bob.Identity, _bob.Options, _time);
        using PeerDeviceSessions stolenAlice = PeerDeviceSessions.Deserialize(_alice.SessionsWith(_bob).Serialize(), _alice.Identity, _alice.Options, _time);

        Assert.Throws<CryptographicFailureException>(() => stolenBob.Decrypt(earlier, _bob.Prekeys));
        Assert.Throws<CryptographicFailureException>(() => stolenAlice.Decrypt(earlierReply, _alice.Prekeys));
    }

    [Fact]
    public void Post_compromise_one_round_trip_of_dh_ratchet_locks_a_passive_thief_out()
    {
        EstablishBothWays();

        // The thief copies Alice's whole state, then watches every message Bob sends to Alice and applies what it can.
        using PeerDeviceSessions thief = PeerDeviceSessions.Deserialize(_alice.SessionsWith(_bob).Serialize(), _alice.Identity, _alice.Options, _time);
        byte[] onStolenChain = _bob.Encrypt(_alice, "on the stolen chain");
        Assert.Equal("on the stolen chain"u8.ToArray(), thief.Decrypt(onStolenChain, _alice.Prekeys));
        Assert.Equal("on the stolen chain", _alice.Decrypt(_bob, onStolenChain));

        // Alice's current ratchet key was stolen with the state, so Bob's answer to it is still readable...
        Assert.Equal("a1", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "a1")));
        byte[] answer = _bob.Encrypt(_alice, "answer to a stolen key");
        Assert.Equal("answer to a stolen key"u8.ToArray(), thief.Decrypt(answer, _alice.Prekeys));
        Assert.Equal("answer to a stolen key", _alice.Decrypt(_bob, answer));

        // ...but that answer made Alice generate a ratchet key the thief never saw. One round trip on it heals the session.
        Assert.Equal("a2", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "a2")));
        byte[] healed = _bob.Encrypt(_alice, "after healing");

        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => thief.Decrypt(healed, _alice.Prekeys));
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, ex.Reason);
        Assert.Equal("after healing", _alice.Decrypt(_bob, healed));
        Assert.Throws<CryptographicFailureException>(() => thief.Decrypt(_bob.Encrypt(_alice, "still locked out"), _alice.Prekeys));
    }

    [Fact]
    public void Serialized_session_round_trips_and_strict_parsing_refuses_damage()
    {
        EstablishBothWays();
        _alice.Encrypt(_bob, "skipped");
        Assert.Equal("seen", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "seen")));
        byte[] stored = _bob.SessionsWith(_alice).Serialize();
        using (PeerDeviceSessions restored = PeerDeviceSessions.Deserialize(stored, _bob.Identity, _bob.Options, _time))
        {
            Assert.Equal(stored, restored.Serialize());
        }

        for (int length = 0; length < stored.Length; length++)
        {
            AssertDeserializeRefused(stored[..length], CryptographicFailureReason.MalformedEncoding);
        }

        AssertDeserializeRefused([.. stored, 0], CryptographicFailureReason.MalformedEncoding);
        byte[] badVersion = (byte[])stored.Clone();
        badVersion[0] = 9;
        AssertDeserializeRefused(badVersion, CryptographicFailureReason.UnsupportedAlgorithm);

        using DeviceIdentity stranger = DeviceIdentity.Generate();
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => PeerDeviceSessions.Deserialize(stored, stranger, _bob.Options, _time));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, ex.Reason);
    }

    [Fact]
    public void Parse_refuses_unknown_versions_and_types_with_typed_errors()
    {
        EstablishBothWays();
        byte[] message = _alice.Encrypt(_bob, "x");
        byte[] version = (byte[])message.Clone();
        version[0] = 2;
        byte[] type = (byte[])message.Clone();
        type[1] = 3;
        Assert.Equal(CryptographicFailureReason.UnsupportedAlgorithm, Assert.Throws<CryptographicFailureException>(() => SessionMessage.Parse(version)).Reason);
        Assert.Equal(CryptographicFailureReason.UnsupportedAlgorithm, Assert.Throws<CryptographicFailureException>(() => SessionMessage.Parse(type)).Reason);
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => SessionMessage.Parse([.. message, 0])).Reason);
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => SessionMessage.Parse(new byte[SessionMessage.MaxEncodedSize + 1])).Reason);
    }

    [Fact]
    public void Exception_messages_name_checks_but_never_carry_plaintext()
    {
        EstablishBothWays();
        byte[] message = _alice.Encrypt(_bob, "canary-PHI-4711");
        byte[] tampered = (byte[])message.Clone();
        tampered[^1] ^= 1;
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, tampered));
        Assert.DoesNotContain("canary", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("canary", _bob.SessionsWith(_alice).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(RatchetOptions.MaxSkip), -1)]
    [InlineData(nameof(RatchetOptions.MaxSkippedMessageKeys), 10)]
    [InlineData(nameof(RatchetOptions.MaxPreviousSessions), 41)]
    public void Ratchet_options_out_of_range_are_refused_naming_the_setting(string setting, int value)
    {
        var options = new RatchetOptions();
        switch (setting)
        {
            case nameof(RatchetOptions.MaxSkip): options.MaxSkip = value; break;
            case nameof(RatchetOptions.MaxSkippedMessageKeys): options.MaxSkippedMessageKeys = value; break;
            default: options.MaxPreviousSessions = value; break;
        }

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(setting, ex.ParamName);
    }

    private void EstablishBothWays()
    {
        _alice.Initiate(_bob);
        Assert.Equal("hello", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "hello")));
        Assert.Equal("hi", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "hi")));
    }

    private static void AssertRefused(SessionTestDevice receiver, SessionTestDevice sender, byte[] message, CryptographicFailureReason expected)
    {
        byte[] before = receiver.SessionsWith(sender).Serialize();
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => receiver.Decrypt(sender, message));
        Assert.Equal(expected, ex.Reason);
        Assert.Equal(before, receiver.SessionsWith(sender).Serialize());
    }

    private void AssertDeserializeRefused(byte[] stored, CryptographicFailureReason expected)
    {
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => PeerDeviceSessions.Deserialize(stored, _bob.Identity, _bob.Options, _time));
        Assert.Equal(expected, ex.Reason);
    }
}
