using TelehealthMessaging.Fhir;

namespace TelehealthMessaging.Tests;

public class FhirFormatTests
{
    [Fact]
    public void Writes_instants_with_seconds_and_zone()
    {
        Assert.Equal("2026-11-26T04:03:00Z", FhirFormat.DateTime(new DateTimeOffset(2026, 11, 26, 4, 3, 0, TimeSpan.Zero)));
        Assert.Equal("2026-11-26T13:03:00.5+09:00", FhirFormat.DateTime(new DateTimeOffset(2026, 11, 26, 13, 3, 0, 500, TimeSpan.FromHours(9))));
    }

    [Theory]
    [InlineData("2019-08-21T20:36:57.544Z", true)]
    [InlineData("2019-08-21T20:36:57+09:00", true)]
    [InlineData("2019-08-21", true)]
    [InlineData("2019-08-21T20:36:57", false)]
    [InlineData("21/08/2019", false)]
    public void Parses_fhir_date_times_and_requires_a_zone_with_a_time(string text, bool valid)
    {
        Assert.Equal(valid, FhirFormat.TryParseDateTime(text, out _));
    }

    [Fact]
    public void Round_trips_dates_times_and_decimals_invariantly()
    {
        Assert.True(FhirFormat.TryParseDate(FhirFormat.Date(new DateOnly(1990, 2, 3)), out var d));
        Assert.Equal(new DateOnly(1990, 2, 3), d);
        Assert.True(FhirFormat.TryParseTime(FhirFormat.Time(new TimeOnly(9, 30)), out var t));
        Assert.Equal(new TimeOnly(9, 30), t);
        Assert.Equal("1.5", FhirFormat.Decimal(1.5m));
    }
}
