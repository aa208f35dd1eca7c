namespace TelehealthMessaging.Crypto;

/// <summary>How a device generates, rotates and refills the prekeys other devices use to start sessions with it.</summary>
/// <remarks>Validated when a device's prekeys are created; the values are copied then, so later changes have no effect.</remarks>
public sealed class PrekeyOptions
{
    /// <summary>
    /// How long a signed X25519 prekey is published before it is replaced. Default: 7 days. Must be positive.
    /// </summary>
    public TimeSpan SignedPrekeyRotationInterval { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a replaced signed prekey (and a replaced last-resort ML-KEM prekey) is kept, so that sessions started
    /// from a bundle fetched just before the rotation still succeed. Default: 14 days. Must not be negative.
    /// </summary>
    public TimeSpan ReplacedPrekeyGracePeriod { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How many one-time X25519 prekeys a refill generates. Default: 100. Must be 1 to 1000.</summary>
    public int OneTimePrekeyBatchSize { get; set; } = 100;

    /// <summary>
    /// A refill runs when fewer than this many one-time X25519 prekeys remain, and always when none is left.
    /// Default: 20. Must be 0 to <see cref="OneTimePrekeyBatchSize"/>.
    /// </summary>
    public int OneTimePrekeyRefillThreshold { get; set; } = 20;

    /// <summary>How many one-time ML-KEM-768 prekeys a refill generates. Default: 100. Must be 1 to 1000.</summary>
    public int KemOneTimePrekeyBatchSize { get; set; } = 100;

    /// <summary>
    /// A refill runs when fewer than this many one-time ML-KEM-768 prekeys remain, and always when none is left.
    /// Default: 20. Must be 0 to <see cref="KemOneTimePrekeyBatchSize"/>.
    /// </summary>
    public int KemOneTimePrekeyRefillThreshold { get; set; } = 20;

    /// <summary>
    /// How long the last-resort ML-KEM-768 prekey (handed out when no one-time ML-KEM prekey is left) is used before it
    /// is replaced. Default: 30 days. Must be positive.
    /// </summary>
    public TimeSpan LastResortPrekeyRotationInterval { get; set; } = TimeSpan.FromDays(30);

    internal const int MaxBatchSize = 1000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    internal void Validate()
    {
        Positive(SignedPrekeyRotationInterval, nameof(SignedPrekeyRotationInterval));
        Positive(LastResortPrekeyRotationInterval, nameof(LastResortPrekeyRotationInterval));
        if (ReplacedPrekeyGracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReplacedPrekeyGracePeriod), "The grace period must not be negative.");
        }

        Batch(OneTimePrekeyBatchSize, OneTimePrekeyRefillThreshold, nameof(OneTimePrekeyBatchSize), nameof(OneTimePrekeyRefillThreshold));
        Batch(KemOneTimePrekeyBatchSize, KemOneTimePrekeyRefillThreshold, nameof(KemOneTimePrekeyBatchSize), nameof(KemOneTimePrekeyRefillThreshold));
    }

    internal PrekeyOptions Snapshot() => (PrekeyOptions)MemberwiseClone();

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, "The interval must be positive.");
        }
    }

    private static void Batch(int size, int threshold, string sizeName, string thresholdName)
    {
        if (size is < 1 or > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(sizeName, $"The batch size must be 1 to {MaxBatchSize}.");
        }

        if (threshold < 0 || threshold > size)
        {
            throw new ArgumentOutOfRangeException(thresholdName, "The refill threshold must be 0 to the batch size.");
        }
    }
}
