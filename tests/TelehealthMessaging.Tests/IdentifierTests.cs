namespace TelehealthMessaging.Tests;

public class IdentifierTests
{
    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("ümlaut")]
    public void Rejects_values_that_are_not_fhir_ids(string value)
    {
        Assert.Throws<ArgumentException>(() => new UserId(value));
    }

    [Fact]
    public void Rejects_values_longer_than_64_characters()
    {
        Assert.Throws<ArgumentException>(() => new DeviceId(new string('a', 65)));
        Assert.Equal(64, new DeviceId(new string('a', 64)).Value.Length);
    }

    [Fact]
    public void New_identifiers_are_valid_and_distinct()
    {
        var a = MessageId.New();
        var b = MessageId.New();
        Assert.NotEqual(a, b);
        Assert.Equal(a, new MessageId(a.Value));
        Assert.Equal(a.Value, a.ToString());
    }
}
