namespace TelehealthMessaging.Callbacks;

/// <summary>Rules a clinic applies to the callback requests it creates.</summary>
/// <remarks>The values are copied into each request when it is created, so every device replays its history by the same rules.</remarks>
public sealed class CallbackPolicy
{
    /// <summary>The largest value <see cref="MaxAttempts"/> may take.</summary>
    public const int MaxAttemptsLimit = 20;

    /// <summary>How many call attempts are made before a request that keeps going unanswered stops being retried. Default 3; 1 to 20.</summary>
    public int MaxAttempts { get; set; } = 3;

    internal void Validate()
    {
        if (MaxAttempts is < 1 or > MaxAttemptsLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts must be between 1 and 20.");
        }
    }
}
