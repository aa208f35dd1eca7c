namespace TelehealthMessaging.Crypto;

/// <summary>Limits of the Double Ratchet sessions a device keeps with each peer device.</summary>
/// <remarks>Validated when a session set is created; the values are copied then, so later changes have no effect.</remarks>
public sealed class RatchetOptions
{
    /// <summary>
    /// The most message keys one received message may make the session skip and store, so that messages delivered
    /// late or out of order can still be decrypted. A message further ahead is refused. Default: 1000. Must be 0 to
    /// 100,000.
    /// </summary>
    public int MaxSkip { get; set; } = 1000;

    /// <summary>
    /// The most skipped message keys a session stores in total; the oldest is dropped first. Default: 2000. Must be at
    /// least <see cref="MaxSkip"/> and at most 200,000.
    /// </summary>
    public int MaxSkippedMessageKeys { get; set; } = 2000;

    /// <summary>
    /// How long a skipped message key is kept; a message that arrives later cannot be decrypted. Default: 14 days. Must
    /// be positive.
    /// </summary>
    public TimeSpan SkippedMessageKeyLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How many earlier sessions with the same peer device stay able to decrypt after a newer one becomes active (for
    /// example when both devices started a session at the same time). Default: 5. Must be 0 to 40.
    /// </summary>
    public int MaxPreviousSessions { get; set; } = 5;

    internal const int MaxSkipLimit = 100_000;
    internal const int MaxSkippedMessageKeysLimit = 200_000;
    internal const int MaxPreviousSessionsLimit = 40;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    internal void Validate()
    {
        if (MaxSkip is < 0 or > MaxSkipLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSkip), $"MaxSkip must be 0 to {MaxSkipLimit}.");
        }

        if (MaxSkippedMessageKeys < MaxSkip || MaxSkippedMessageKeys > MaxSkippedMessageKeysLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSkippedMessageKeys), $"MaxSkippedMessageKeys must be MaxSkip to {MaxSkippedMessageKeysLimit}.");
        }

        if (SkippedMessageKeyLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SkippedMessageKeyLifetime), "The lifetime must be positive.");
        }

        if (MaxPreviousSessions is < 0 or > MaxPreviousSessionsLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPreviousSessions), $"MaxPreviousSessions must be 0 to {MaxPreviousSessionsLimit}.");
        }
    }

    internal RatchetOptions Snapshot() => (RatchetOptions)MemberwiseClone();
}
