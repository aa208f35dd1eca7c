namespace TelehealthMessaging.Callbacks;

/// <summary>Callback input failed validation; <see cref="Errors"/> lists every problem found, not just the first.</summary>
/// <remarks>Neither the message nor <see cref="Errors"/> contains the rejected values: they may be health data.</remarks>
public sealed class CallbackValidationException : TelehealthException
{
    /// <summary>Creates the exception for <paramref name="errors"/>.</summary>
    /// <param name="errors">The problems found; at least one.</param>
    public CallbackValidationException(IReadOnlyList<CallbackValidationError> errors)
        : base(TelehealthErrorCode.ValidationFailed, Describe(errors))
    {
        // A copy, so that the list the caller passed can change without changing the exception.
        Errors = [.. errors];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<CallbackValidationError> Errors { get; }

    private static string Describe(IReadOnlyList<CallbackValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            throw new ArgumentException("At least one error is required.", nameof(errors));
        }

        return "The callback input is invalid: " + string.Join("; ", errors.Select(e => $"{e.Field} ({e.Code}): {e.Message}"));
    }
}
