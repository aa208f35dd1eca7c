namespace TelehealthMessaging.Transport;

/// <summary>The relay (or an in-memory stand-in) refused or failed a request.</summary>
/// <remarks>
/// <see cref="ProblemCode"/> is the relay's stable problem code (for example <c>unknown_recipient</c>,
/// <c>rate_limited</c>); the message names codes and counts only, never envelope bytes.
/// </remarks>
public sealed class RelayRequestException : TelehealthException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The SDK-wide reason; <see cref="TelehealthErrorCode.RelayUnavailable"/> and <see cref="TelehealthErrorCode.RateLimited"/> are transient.</param>
    /// <param name="problemCode">The relay's problem code, or <see langword="null"/> when no answer arrived.</param>
    /// <param name="statusCode">The HTTP status, or <see langword="null"/> when no answer arrived.</param>
    /// <param name="message">A description free of envelope bytes and health data.</param>
    /// <param name="retryAfter">When the relay said a retry may succeed, if it did.</param>
    /// <param name="innerException">The cause, if any.</param>
    public RelayRequestException(TelehealthErrorCode errorCode, string? problemCode, int? statusCode, string message, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
        ProblemCode = problemCode;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    /// <summary>The relay's problem code (<c>unknown_recipient</c>, <c>too_large</c> …), or <see langword="null"/> when no answer arrived.</summary>
    public string? ProblemCode { get; }

    /// <summary>The HTTP status code, or <see langword="null"/> when no answer arrived.</summary>
    public int? StatusCode { get; }

    /// <summary>How long the relay asked the client to wait before retrying, if it said.</summary>
    public TimeSpan? RetryAfter { get; }
}
