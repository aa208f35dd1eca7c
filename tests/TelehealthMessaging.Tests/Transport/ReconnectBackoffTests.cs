using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 500)]
    [InlineData(1, 1_000)]
    [InlineData(5, 16_000)]
    [InlineData(6, 30_000)]
    [InlineData(61, 30_000)]
    [InlineData(int.MaxValue, 30_000)]
    public void The_ceiling_doubles_per_attempt_up_to_the_cap(int attempt, int expectedMilliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), ReconnectBackoff.Ceiling(attempt, Base, Cap));
    }

    [Fact]
    public void Delays_stay_within_zero_and_the_ceiling_for_every_attempt_and_seed()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var random = new Random(seed);
            for (int attempt = 0; attempt < 100; attempt++)
            {
                TimeSpan delay = ReconnectBackoff.Next(attempt, Base, Cap, random);
                Assert.InRange(delay, TimeSpan.Zero, ReconnectBackoff.Ceiling(attempt, Base, Cap));
                Assert.True(delay < Cap);
            }
        }
    }

    [Fact]
    public void Delays_grow_with_the_attempt_on_average_and_are_spread_out()
    {
        var random = new Random(7);
        double Mean(int attempt) => Enumerable.Range(0, 2_000).Average(_ => ReconnectBackoff.Next(attempt, Base, Cap, random).TotalMilliseconds);

        double[] means = Enumerable.Range(0, 7).Select(Mean).ToArray();

        for (int i = 1; i < means.Length; i++)
        {
            Assert.True(means[i] > means[i - 1], $"attempt {i} averaged {means[i]} ms, not more than attempt {i - 1} ({means[i - 1]} ms)");
        }

        // Full jitter: about half the ceiling on average, not bunched at the ceiling.
        Assert.InRange(means[6], Cap.TotalMilliseconds * 0.45, Cap.TotalMilliseconds * 0.55);
    }

    [Fact]
    public void The_same_seed_gives_the_same_delays()
    {
        TimeSpan[] Run() { var r = new Random(3); return Enumerable.Range(0, 20).Select(a => ReconnectBackoff.Next(a, Base, Cap, r)).ToArray(); }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Invalid_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconnectBackoff.Ceiling(-1, Base, Cap));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconnectBackoff.Ceiling(0, TimeSpan.Zero, Cap));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconnectBackoff.Ceiling(0, Cap, Base));
    }
}
