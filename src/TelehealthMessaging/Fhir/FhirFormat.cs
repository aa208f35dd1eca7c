using System.Globalization;

namespace TelehealthMessaging.Fhir;

// FHIR R4 primitive formats (https://hl7.org/fhir/R4/datatypes.html). Every exporter and importer goes through
// these so that dates, instants and decimals are written one way, culture-invariantly.
internal static class FhirFormat
{
    public static string Date(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // dateTime/instant: seconds are always written (instant requires them); fractions only when present.
    public static string DateTime(DateTimeOffset value) =>
        value.Offset == TimeSpan.Zero
            ? value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)
            : value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    public static string Time(TimeOnly value) => value.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    public static string Decimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseDate(string? text, out DateOnly value) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);

    // FHIR dateTime requires a zone when a time is given; a bare date is a dateTime too (midnight in UTC here).
    public static bool TryParseDateTime(string? text, out DateTimeOffset value)
    {
        if (text is not null && text.Length > 10)
        {
            return DateTimeOffset.TryParseExact(
                text,
                ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"],
                CultureInfo.InvariantCulture,
                DateTimeStyles.None,
                out value) && (text.EndsWith('Z') || text[^6] is '+' or '-');
        }

        if (TryParseDate(text, out DateOnly date))
        {
            value = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }

        value = default;
        return false;
    }

    public static bool TryParseTime(string? text, out TimeOnly value) =>
        TimeOnly.TryParseExact(text, ["HH:mm:ss", "HH:mm:ss.FFFFFFF"], CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
}
