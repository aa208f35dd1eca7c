namespace TelehealthMessaging;

/// <summary>A code from a code system, as FHIR's <c>Coding</c> data type (for example a LOINC answer code).</summary>
/// <param name="System">The code system's canonical URI, or <see langword="null"/> when the source gave none.</param>
/// <param name="Code">The code within the system.</param>
/// <param name="Display">A human-readable rendering of the code, if known.</param>
public sealed record Coding(string? System, string Code, string? Display = null)
{
    /// <summary>
    /// <see langword="true"/> when <paramref name="other"/> names the same concept: the codes are equal and, where both
    /// name a system, the systems are equal. Display text is ignored.
    /// </summary>
    /// <param name="other">The coding to compare with.</param>
    /// <returns>Whether both codings identify the same concept.</returns>
    public bool Matches(Coding other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.Equals(Code, other.Code, StringComparison.Ordinal)
            && (System is null || other.System is null || string.Equals(System, other.System, StringComparison.Ordinal));
    }

    /// <summary>Describes the coding without its code or display: a coding given as an answer is health data.</summary>
    /// <returns>The code system only.</returns>
    public override string ToString() => $"Coding {{ System = {System ?? "(none)"} }}";
}
