using System.Globalization;
using TelehealthMessaging.Client.Tests.Infrastructure;

namespace TelehealthMessaging.Client.Tests.Samples;

/// <summary>
/// Acceptance 4: the package works as published. Packs the library, then builds and runs a stand-alone app
/// (PackageConsumer/, copied to a temporary folder) that references the .nupkg and uses AddTelehealthMessaging in a
/// Generic Host. Needs nuget.org for dependencies missing from the local package cache.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private static readonly TimeSpan DotnetTimeout = TimeSpan.FromMinutes(10);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telehealth-package-consumer", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Packed_package_works_in_a_generic_host_app_through_AddTelehealthMessaging()
    {
        string consumer = Path.Combine(_folder, "consumer");
        CopyTemplate(Path.Combine(ChildProcess.RepositoryRoot, "tests", "TelehealthMessaging.Client.Tests", "PackageConsumer"), consumer);

        // A version no other restore can have cached: the consumer must get exactly this package. CI packs it before the
        // tests run (TELEHEALTH_TEST_PACKAGE_DIR), so that no pack runs while other test assemblies use the build output.
        string suffix = "preview.1.consumer." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N")[..8];
        string packages = Path.Combine(consumer, "packages");
        string? packed = Environment.GetEnvironmentVariable("TELEHEALTH_TEST_PACKAGE_DIR");
        if (!string.IsNullOrEmpty(packed))
        {
            Directory.CreateDirectory(packages);
            string nupkg = Assert.Single(Directory.GetFiles(packed, "TelehealthMessaging.*.nupkg"));
            File.Copy(nupkg, Path.Combine(packages, Path.GetFileName(nupkg)));
            suffix = Path.GetFileNameWithoutExtension(nupkg).Split("-", 2)[1];
        }
        else
        {
            ChildProcess.Result pack = await ChildProcess.RunAsync(
                "dotnet",
                ["pack", Path.Combine(ChildProcess.RepositoryRoot, "src", "TelehealthMessaging", "TelehealthMessaging.csproj"), "-c", "Release", "--no-restore", "-o", packages, "--version-suffix", suffix, "-nologo"],
                DotnetTimeout);
            Assert.True(pack.ExitCode == 0, pack.Describe());
        }

        string package = Path.GetFileNameWithoutExtension(Assert.Single(Directory.GetFiles(packages, "TelehealthMessaging.*.nupkg")));
        string version = package["TelehealthMessaging.".Length..];
        Assert.EndsWith(suffix, version, StringComparison.Ordinal);

        // A private package folder (so the test never writes to the user's cache) that falls back to the user's cache
        // for the dependencies, which are then not downloaded again.
        string userCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        ChildProcess.Result run = await ChildProcess.RunAsync(
            "dotnet",
            ["run", "--project", Path.Combine(consumer, "PackageConsumer.csproj"), $"-p:TelehealthMessagingVersion={version}", $"-p:RestorePackagesPath={Path.Combine(_folder, "package-cache")}", $"-p:RestoreFallbackFolders={userCache}"],
            DotnetTimeout,
            workingDirectory: consumer);

        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains("Resolved patient-7 (Patient) and dr-park (Clinician)", run.Output, StringComparison.Ordinal);
        Assert.Contains("dr-park received: Hello from the packed package", run.Output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_folder, "package-cache", "telehealthmessaging", version)), "The consumer restored a TelehealthMessaging other than the packed one.");
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static void CopyTemplate(string from, string to)
    {
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj")
            {
                continue;
            }

            string target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
