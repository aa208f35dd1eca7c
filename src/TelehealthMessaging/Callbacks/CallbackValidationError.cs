namespace TelehealthMessaging.Callbacks;

/// <summary>One problem with callback input: which field, a stable code and a description. Never the value itself.</summary>
/// <param name="Field">The input that failed, for example <c>reason</c> or <c>preferredWindows[1]</c>.</param>
/// <param name="Code">A stable code to branch on: one of <see cref="CallbackValidationCodes"/>.</param>
/// <param name="Message">A human-readable description that contains no input values.</param>
public sealed record CallbackValidationError(string Field, string Code, string Message);

/// <summary>The codes <see cref="CallbackValidationError.Code"/> takes.</summary>
public static class CallbackValidationCodes
{
    /// <summary>A value is missing or blank.</summary>
    public const string Required = "required";

    /// <summary>A text is longer than allowed.</summary>
    public const string TooLong = "too-long";

    /// <summary>A list has more entries than allowed.</summary>
    public const string TooMany = "too-many";

    /// <summary>A value is not in the required form (phone number, control characters, undefined enum value).</summary>
    public const string Invalid = "invalid";

    /// <summary>A window has already closed.</summary>
    public const string InThePast = "in-the-past";
}
