namespace TelehealthMessaging;

/// <summary>
/// The base of every error the SDK raises on purpose. Catch this to handle all of them; check
/// <see cref="ErrorCode"/> to tell them apart and <see cref="IsTransient"/> to decide whether a retry can help.
/// </summary>
/// <remarks>
/// Messages never contain health data, answer values or key material: they name fields, states and codes only.
/// </remarks>
public class TelehealthException : Exception
{
    /// <summary>Creates an exception for <paramref name="errorCode"/> with a message that carries no health data.</summary>
    /// <param name="errorCode">What went wrong, in a form code can branch on.</param>
    /// <param name="message">A human-readable description free of health data and key material.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public TelehealthException(TelehealthErrorCode errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>What went wrong, in a form code can branch on.</summary>
    public TelehealthErrorCode ErrorCode { get; }

    /// <summary>
    /// <see langword="true"/> when the same call may succeed if retried later (the relay was unreachable, a rate
    /// limit applied); <see langword="false"/> when the input or state must change first.
    /// </summary>
    public virtual bool IsTransient => ErrorCode is TelehealthErrorCode.RelayUnavailable or TelehealthErrorCode.RateLimited;
}
