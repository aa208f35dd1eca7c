using System.Diagnostics.CodeAnalysis;

namespace TelehealthMessaging.Callbacks;

/// <summary>A phone number in E.164 form: <c>+</c> then 8 to 15 digits, the first of which is not 0.</summary>
/// <remarks>
/// Parsing accepts and removes spaces, dashes, parentheses and dots (<c>+1 (555) 010-0199</c>). A phone number is
/// personal data: <see cref="ToString"/> does not show it; read <see cref="Value"/> where the number is needed.
/// </remarks>
public readonly struct PhoneNumber : IEquatable<PhoneNumber>
{
    private const int MinDigits = 8;
    private const int MaxDigits = 15;

    // Bounds the work done on hostile input; generous enough for any formatting of 15 digits.
    private const int MaxInputLength = 40;

    private PhoneNumber(string value) => Value = value;

    /// <summary>The number in E.164 form, for example <c>+15550100199</c>; <see langword="null"/> for <c>default</c>.</summary>
    public string Value { get; }

    /// <summary>Parses <paramref name="text"/> as an E.164 phone number.</summary>
    /// <param name="text">The number, for example <c>+44 20 7946 0958</c>.</param>
    /// <returns>The number in E.164 form.</returns>
    /// <exception cref="CallbackValidationException"><paramref name="text"/> is not an E.164 number (the message does not repeat it).</exception>
    public static PhoneNumber Parse(string? text)
    {
        if (TryParse(text, out PhoneNumber number))
        {
            return number;
        }

        throw new CallbackValidationException([InvalidError("phoneNumber")]);
    }

    /// <summary>Tries to parse <paramref name="text"/> as an E.164 phone number.</summary>
    /// <param name="text">The number, for example <c>+44 20 7946 0958</c>.</param>
    /// <param name="number">The number in E.164 form when parsing succeeded.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is an E.164 number.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out PhoneNumber number)
    {
        number = default;
        if (text is null || text.Length > MaxInputLength)
        {
            return false;
        }

        ReadOnlySpan<char> input = text.AsSpan().Trim();
        if (input.IsEmpty || input[0] != '+')
        {
            return false;
        }

        Span<char> digits = stackalloc char[MaxInputLength];
        int count = 0;
        foreach (char c in input[1..])
        {
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else if (c is not (' ' or '-' or '(' or ')' or '.'))
            {
                return false;
            }
        }

        if (count < MinDigits || count > MaxDigits || digits[0] == '0')
        {
            return false;
        }

        number = new PhoneNumber(string.Concat("+", digits[..count]));
        return true;
    }

    internal static CallbackValidationError InvalidError(string field) =>
        new(field, CallbackValidationCodes.Invalid, "A phone number must be in E.164 form: '+' then 8 to 15 digits, the first not 0.");

    /// <inheritdoc />
    public bool Equals(PhoneNumber other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PhoneNumber other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Value is null ? 0 : StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Does not show the number: a phone number is personal data.</summary>
    /// <returns>A fixed placeholder.</returns>
    public override string ToString() => "PhoneNumber { REDACTED }";

    /// <summary>Compares two numbers by their E.164 form.</summary>
    /// <param name="left">The first number.</param>
    /// <param name="right">The second number.</param>
    /// <returns>Whether both are the same number.</returns>
    public static bool operator ==(PhoneNumber left, PhoneNumber right) => left.Equals(right);

    /// <summary>Compares two numbers by their E.164 form.</summary>
    /// <param name="left">The first number.</param>
    /// <param name="right">The second number.</param>
    /// <returns>Whether the numbers differ.</returns>
    public static bool operator !=(PhoneNumber left, PhoneNumber right) => !left.Equals(right);
}
