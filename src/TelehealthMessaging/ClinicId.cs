namespace TelehealthMessaging;

/// <summary>Identifies a clinic: an addressable party whose clinicians' triage devices all receive its intakes and callback requests.</summary>
/// <remarks>App-assigned: use the app's own clinic or organization ids. Values are 1 to 64 characters of <c>A-Z a-z 0-9 - .</c> (a FHIR id).</remarks>
public readonly record struct ClinicId
{
    /// <summary>Wraps an existing identifier.</summary>
    /// <param name="value">1 to 64 characters of <c>A-Z a-z 0-9 - .</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not a valid identifier.</exception>
    public ClinicId(string value) => Value = Identifier.Validate(value);

    /// <summary>The identifier's text.</summary>
    public string Value { get; }

    /// <summary>Creates a new random identifier.</summary>
    /// <returns>A new identifier that is unique for all practical purposes.</returns>
    public static ClinicId New() => new(Identifier.NewValue());

    /// <summary>Returns <see cref="Value"/>.</summary>
    /// <returns>The identifier's text.</returns>
    public override string ToString() => Value ?? string.Empty;
}
