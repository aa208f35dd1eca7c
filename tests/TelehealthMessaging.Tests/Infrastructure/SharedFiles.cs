namespace TelehealthMessaging.Tests.Infrastructure;

/// <summary>
/// Finds the read-only <c>shared/</c> folder that sits beside the repository (vectors, FHIR fixtures). Tests that
/// need it skip with a visible reason where it is absent rather than failing on a developer's machine.
/// </summary>
public static class SharedFiles
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    public static string? RootDirectory => Root.Value;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Returns the full path of <paramref name="relativePath"/> under shared/, or skips the test.</summary>
    public static string Require(string relativePath)
    {
        string? root = Root.Value;
        Skip.If(root is null, "The shared/ folder beside the repository is absent (set TELEHEALTH_SHARED_DIR to point at it).");
        string path = Path.Combine(root!, relativePath);
        Skip.IfNot(File.Exists(path), $"shared/{relativePath} is absent.");
        return path;
    }

    public static string ReadText(string relativePath) => File.ReadAllText(Require(relativePath));

    private static string? FindRoot()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("TELEHEALTH_SHARED_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Directory.Exists(fromEnvironment) ? fromEnvironment : null;
        }

        string candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return Directory.Exists(candidate) ? candidate : null;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TelehealthMessaging.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (TelehealthMessaging.sln) above the test output folder.");
    }
}
