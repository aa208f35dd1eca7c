using System.Globalization;
using System.Text.Json;
using TelehealthMessaging.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TelehealthMessaging.Tests.Crypto;

/// <summary>Reads a Wycheproof vector file from shared/vectors/wycheproof (skipping the test where it is absent).</summary>
internal sealed class Wycheproof : IDisposable
{
    private readonly JsonDocument _document;

    private Wycheproof(JsonDocument document)
    {
        _document = document;
    }

    public static Wycheproof Load(string fileName) =>
        new(JsonDocument.Parse(File.ReadAllText(SharedFiles.Require($"vectors/wycheproof/{fileName}"))));

    public IEnumerable<(JsonElement Group, Vector Test)> Vectors()
    {
        foreach (JsonElement group in _document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
            {
                yield return (group, new Vector(test));
            }
        }
    }

    public void Dispose() => _document.Dispose();

    public readonly struct Vector(JsonElement element)
    {
        /// <summary>The test case id; the files spell it as a number or a numeric string.</summary>
        public string TcId => element.GetProperty("tcId") is { ValueKind: JsonValueKind.Number } n
            ? n.GetInt32().ToString(CultureInfo.InvariantCulture)
            : element.GetProperty("tcId").GetString()!;

        public string Result => element.GetProperty("result").GetString()!;

        public bool IsValid => Result == "valid";

        public bool IsInvalid => Result == "invalid";

        public IReadOnlyList<string> Flags => element.TryGetProperty("flags", out JsonElement flags)
            ? flags.EnumerateArray().Select(f => f.GetString()!).ToArray()
            : [];

        public bool Has(string name) => element.TryGetProperty(name, out _);

        public byte[] Bytes(string name) => Convert.FromHexString(element.GetProperty(name).GetString()!);

        public int Int(string name) => element.GetProperty(name) is { ValueKind: JsonValueKind.Number } n
            ? n.GetInt32()
            : int.Parse(element.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);
    }
}

/// <summary>Counts vectors that ran and collects failing tcIds so one test can report every failure at once.</summary>
internal sealed class VectorTally(string file, ITestOutputHelper? output = null)
{
    private readonly List<string> _failures = [];

    public int Ran { get; private set; }

    public int Skipped { get; private set; }

    public void Pass() => Ran++;

    public void Skip() => Skipped++;

    public void Fail(string tcId, string why)
    {
        Ran++;
        _failures.Add($"tcId {tcId}: {why}");
    }

    public void Check(bool condition, string tcId, string why)
    {
        if (condition)
        {
            Pass();
        }
        else
        {
            Fail(tcId, why);
        }
    }

    /// <summary>Fails when any vector failed or fewer than <paramref name="minimumRan"/> ran (a schema change must not pass silently).</summary>
    public void AssertAllPassed(int minimumRan)
    {
        Assert.True(_failures.Count == 0, $"{file}: {_failures.Count} of {Ran} vectors failed:\n{string.Join('\n', _failures)}");
        Assert.True(Ran >= minimumRan, $"{file}: only {Ran} vectors ran (skipped {Skipped}); expected at least {minimumRan}.");
        output?.WriteLine($"{file}: {Ran} vectors ran and passed, {Skipped} filtered out.");
    }
}
