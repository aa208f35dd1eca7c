using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

/// <summary>
/// Decryption works on a copy of the ratchet state that shares the ratchet private key with the original. These pin
/// down that neither copy ever disposes a key the surviving state still uses.
/// </summary>
public sealed class RatchetKeySharingTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice _alice;
    private readonly SessionTestDevice _bob;

    public RatchetKeySharingTests()
    {
        _alice = new SessionTestDevice("alice", _time);
        _bob = new SessionTestDevice("bob", _time);
        _alice.Initiate(_bob);
        Assert.Equal("hello", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "hello")));
        Assert.Equal("hi", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "hi")));
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public void A_refused_message_that_would_step_the_ratchet_leaves_the_current_ratchet_key_usable()
    {
        // Alice answers on a new chain, so Bob's attempt steps the ratchet (a new key) before authentication fails.
        byte[] message = _alice.Encrypt(_bob, "new chain");
        byte[] tampered = (byte[])message.Clone();
        tampered[^1] ^= 0x01;
        byte[] before = _bob.SessionsWith(_alice).Serialize();

        Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, tampered));

        Assert.Equal(before, _bob.SessionsWith(_alice).Serialize());
        Assert.Equal("still on the old chain", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "still on the old chain")));
        Assert.Equal("new chain", _bob.Decrypt(_alice, message));
        Assert.Equal("after the step", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "after the step")));
    }

    [Fact]
    public void Decryptions_on_one_chain_keep_the_ratchet_key_and_a_step_replaces_it()
    {
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"same chain {i}", _bob.Decrypt(_alice, _alice.Encrypt(_bob, $"same chain {i}")));
        }

        // Serializing exports the ratchet private key: it throws if a replaced copy had disposed the live key.
        byte[] stored = _bob.SessionsWith(_alice).Serialize();
        Assert.Equal("reply", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "reply")));
        Assert.Equal("next chain", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "next chain")));
        Assert.NotEqual(stored, _bob.SessionsWith(_alice).Serialize());

        _bob.Restart();
        Assert.Equal("after restart", _alice.Decrypt(_bob, _bob.Encrypt(_alice, "after restart")));
    }

    [Fact]
    public void A_skipped_message_decrypts_from_the_index_once_then_is_a_duplicate()
    {
        byte[] skipped = _alice.Encrypt(_bob, "late");
        Assert.Equal("early", _bob.Decrypt(_alice, _alice.Encrypt(_bob, "early")));
        Assert.Equal(1, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);

        Assert.Equal("late", _bob.Decrypt(_alice, skipped));
        Assert.Equal(0, _bob.SessionsWith(_alice).ActiveSession!.SkippedMessageKeyCount);
        CryptographicFailureException again = Assert.Throws<CryptographicFailureException>(() => _bob.Decrypt(_alice, skipped));
        Assert.Equal(CryptographicFailureReason.DuplicateMessage, again.Reason);
    }
}
