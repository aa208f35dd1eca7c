using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

/// <summary>
/// Seeded property tests over <see cref="SessionSimulation"/>. The seeds are fixed so that a failure reproduces; the
/// failure message names the seed and step.
/// </summary>
public class SessionPropertyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(20261126)]
    public void Two_devices_exchange_thousands_of_messages_under_reordering_drops_duplicates_and_restarts(int seed)
    {
        using var simulation = new SessionSimulation(seed, deviceCount: 2, bothInitiate: false);
        simulation.Run(messages: 1500);
        Assert.True(simulation.DuplicatesRefused > 0 && simulation.Restarts > 0 && simulation.Dropped > 0, "the seed exercised every behaviour");
    }

    /// <summary>A patient's device and a clinician with three devices: every pair of the four holds its own session.</summary>
    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void A_party_with_three_devices_exchanges_messages_pairwise_under_the_same_faults(int seed)
    {
        using var simulation = new SessionSimulation(seed, deviceCount: 4, bothInitiate: false);
        simulation.Run(messages: 2000);
        Assert.True(simulation.DuplicatesRefused > 0 && simulation.Restarts > 0 && simulation.Dropped > 0, "the seed exercised every behaviour");
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Simultaneous_initiation_by_both_devices_converges_and_loses_nothing(int seed)
    {
        using var simulation = new SessionSimulation(seed, deviceCount: 3, bothInitiate: true);
        simulation.Run(messages: 1000);
    }

    [Fact]
    public void Simultaneous_initiation_crossing_messages_both_sides_keep_talking_on_one_session()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        using var alice = new SessionTestDevice("alice", time);
        using var bob = new SessionTestDevice("bob", time);
        alice.Initiate(bob);
        bob.Initiate(alice);
        byte[] fromAlice = alice.Encrypt(bob, "from alice");
        byte[] fromBob = bob.Encrypt(alice, "from bob");

        // The messages cross: each side now holds its own session and the one the other started.
        Assert.Equal("from bob", alice.Decrypt(bob, fromBob));
        Assert.Equal("from alice", bob.Decrypt(alice, fromAlice));
        Assert.Equal(2, alice.SessionsWith(bob).SessionCount);
        Assert.Equal(2, bob.SessionsWith(alice).SessionCount);

        for (int round = 0; round < 5; round++)
        {
            byte[] a = alice.Encrypt(bob, $"a{round}");
            byte[] b = bob.Encrypt(alice, $"b{round}");
            Assert.Equal($"b{round}", alice.Decrypt(bob, b));
            Assert.Equal($"a{round}", bob.Decrypt(alice, a));
        }

        // Once each side has decrypted on the session the other sends on, both send on the same one.
        byte[] last = alice.Encrypt(bob, "settled");
        Assert.Equal("settled", bob.Decrypt(alice, last));
        byte[] reply = bob.Encrypt(alice, "settled too");
        Assert.Equal("settled too", alice.Decrypt(bob, reply));
        Assert.True(alice.SessionsWith(bob).ActiveSession!.BaseKey.SequenceEqual(bob.SessionsWith(alice).ActiveSession!.BaseKey));
    }

    [Fact]
    public void A_device_keeps_at_most_max_previous_sessions_and_drops_the_oldest()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        var options = new RatchetOptions { MaxPreviousSessions = 1 };
        using var alice = new SessionTestDevice("alice", time, options);
        using var bob = new SessionTestDevice("bob", time, options);
        alice.Initiate(bob);
        byte[] oldest = alice.Encrypt(bob, "oldest");
        alice.Initiate(bob);
        alice.Initiate(bob);
        Assert.Equal(2, alice.SessionsWith(bob).SessionCount);
        Assert.Equal("newest", bob.Decrypt(alice, alice.Encrypt(bob, "newest")));
        Assert.Equal("oldest", bob.Decrypt(alice, oldest));
        Assert.Equal(2, bob.SessionsWith(alice).SessionCount);
    }
}
