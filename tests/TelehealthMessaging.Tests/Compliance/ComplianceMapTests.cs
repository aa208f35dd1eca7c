using System.Text.RegularExpressions;

namespace TelehealthMessaging.Tests.Compliance;

// docs/compliance.md promises an auditor a test per requirement: these keep the promise honest.
public class ComplianceMapTests
{
    private const string Tbd = "TBD";

    private static readonly string[] Requirements =
    [
        "HIPAA 164.312(a)(1)", "HIPAA 164.312(a)(2)(i)", "HIPAA 164.312(a)(2)(iii)", "HIPAA 164.312(a)(2)(iv)", "HIPAA 164.312(b)",
        "HIPAA 164.312(c)(1)", "HIPAA 164.312(c)(2)", "HIPAA 164.312(d)", "HIPAA 164.312(e)(1)", "HIPAA 164.312(e)(2)(ii)",
        "PIPA Art. 15", "PIPA Art. 21", "PIPA Art. 23", "PIPA Art. 24-2", "PIPA Art. 28-2", "PIPA Art. 29",
        "GDPR Art. 9", "GDPR Art. 17", "GDPR Art. 30", "GDPR Art. 32",
    ];

    [Fact]
    public void Every_requirement_has_a_row_and_every_named_test_exists_under_tests()
    {
        List<Row> rows = ReadRows();
        Assert.Equal(Requirements, rows.Select(r => Requirements.First(req => r.Requirement.StartsWith(req + " ", StringComparison.Ordinal) || r.Requirement == req)));

        List<SourceFile> sources = ReadSources();
        var missing = new List<string>();
        foreach (Row row in rows)
        {
            Assert.NotEmpty(row.Tests);
            foreach (string test in row.Tests.Where(t => t != Tbd))
            {
                if (!Exists(test, sources))
                {
                    missing.Add($"{row.Requirement}: {test}");
                }
            }
        }

        Assert.True(missing.Count == 0, "docs/compliance.md names tests that do not exist:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void No_row_is_TBD()
    {
        var open = ReadRows().Where(r => r.Tests.Contains(Tbd)).Select(r => r.Requirement).ToList();
        Assert.True(open.Count == 0, "Rows still marked TBD:\n" + string.Join("\n", open));
    }

    [Fact]
    public void A_test_name_is_found_only_in_its_own_namespace_and_class()
    {
        List<SourceFile> sources = ReadSources();
        Assert.True(Exists(typeof(ComplianceMapTests).FullName + "." + nameof(No_row_is_TBD), sources));
        Assert.False(Exists(typeof(ComplianceMapTests).FullName + ".No_such_test", sources));
        Assert.False(Exists("TelehealthMessaging.Tests.Compliance.AuditLogTests." + nameof(No_row_is_TBD), sources));
        Assert.False(Exists("Other.Namespace.ComplianceMapTests." + nameof(No_row_is_TBD), sources));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TelehealthMessaging.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (the folder with TelehealthMessaging.sln) was not found above " + AppContext.BaseDirectory);
    }

    private static List<Row> ReadRows()
    {
        string path = Path.Combine(RepositoryRoot(), "docs", "compliance.md");
        var rows = new List<Row>();
        foreach (string line in File.ReadLines(path))
        {
            if (!line.StartsWith("| ", StringComparison.Ordinal) || line.StartsWith("| Requirement |", StringComparison.Ordinal))
            {
                continue;
            }

            string[] cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            Assert.True(cells.Length == 3, "A row of docs/compliance.md does not have three columns: " + line);
            string[] tests = cells[2].Split("<br>", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            rows.Add(new Row(cells[0], tests));
        }

        return rows;
    }

    private static List<SourceFile> ReadSources() =>
        Directory.EnumerateFiles(Path.Combine(RepositoryRoot(), "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => new SourceFile(File.ReadAllText(f)))
            .ToList();

    // Namespace.Class.Method: some file declares that namespace and class, and a `void Method(` or `Task Method(` in it.
    private static bool Exists(string fullyQualifiedName, List<SourceFile> sources)
    {
        string[] parts = fullyQualifiedName.Split('.');
        if (parts.Length < 3)
        {
            return false;
        }

        string method = parts[^1];
        string type = parts[^2];
        string ns = string.Join('.', parts[..^2]);
        return sources.Any(s =>
            s.Text.Contains($"namespace {ns};", StringComparison.Ordinal) &&
            Regex.IsMatch(s.Text, $@"\bclass {Regex.Escape(type)}\b") &&
            (s.Text.Contains($"void {method}(", StringComparison.Ordinal) || s.Text.Contains($"Task {method}(", StringComparison.Ordinal)));
    }

    private sealed record Row(string Requirement, string[] Tests);

    private sealed record SourceFile(string Text);
}
