using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace TelehealthMessaging;

// Identifiers are FHIR ids (1-64 of [A-Za-z0-9-.]) so that they can appear unchanged in exported resources
// (Patient/{id}, QuestionnaireResponse/{id}) and in relay paths without escaping.
internal static class Identifier
{
    public const int MaxLength = 64;

    public static string Validate(string? value, [CallerArgumentExpression(nameof(value))] string? paramName = null)
    {
        if (!IsValid(value))
        {
            throw new ArgumentException("An identifier must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.", paramName);
        }

        return value;
    }

    public static bool IsValid([NotNullWhen(true)] string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    public static string NewValue() => Guid.NewGuid().ToString("N");
}
