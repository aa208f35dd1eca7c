namespace TelehealthMessaging.Transport;

/// <summary>
/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): attempt
/// <c>n</c> waits a uniformly random time in <c>[0, min(cap, base·2^n))</c>. Full jitter spreads the reconnects of
/// many clients that lost the relay at the same moment, so they do not return in a storm.
/// </summary>
/// <remarks>The building block of the WebSocket transport's reconnect loop.</remarks>
internal static class ReconnectBackoff
{
    /// <summary>The upper bound for attempt <paramref name="attempt"/>: <c>min(cap, base·2^attempt)</c>, without overflow.</summary>
    public static TimeSpan Ceiling(int attempt, TimeSpan baseDelay, TimeSpan cap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(baseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, baseDelay);

        // Past 2^62 ticks the product overflows; any attempt that large is at the cap anyway.
        if (attempt >= 62 || baseDelay.Ticks > cap.Ticks >> attempt)
        {
            return cap;
        }

        return TimeSpan.FromTicks(baseDelay.Ticks << attempt);
    }

    /// <summary>A full-jitter delay for attempt <paramref name="attempt"/> (0 for the first retry).</summary>
    public static TimeSpan Next(int attempt, TimeSpan baseDelay, TimeSpan cap, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        TimeSpan ceiling = Ceiling(attempt, baseDelay, cap);
        return TimeSpan.FromTicks((long)(ceiling.Ticks * random.NextDouble()));
    }
}
