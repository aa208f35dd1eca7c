using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "telehealth-store-" + Guid.NewGuid().ToString("N"));
    }

    public string Path { get; }

    /// <summary>Every file in the folder and its scope folders with its bytes, by relative path, for before/after comparisons.</summary>
    public SortedDictionary<string, byte[]> Snapshot()
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        if (Directory.Exists(Path))
        {
            foreach (string file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
            {
                files[System.IO.Path.GetRelativePath(Path, file)] = File.ReadAllBytes(file);
            }
        }

        return files;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

internal static class StoreFixtures
{
    /// <summary>Argon2id at its cheapest, so tests stay fast; the defaults are tested separately.</summary>
    public static PassphraseKeyProtectorOptions CheapArgon2 => new() { MemoryKiB = 64, Iterations = 1, Parallelism = 1 };

    public static PassphraseKeyProtector Protector(string passphrase = "correct horse battery staple") => new(passphrase, CheapArgon2);

    public static Task<EncryptedFileStore> OpenAsync(TempFolder folder, string passphrase = "correct horse battery staple") =>
        EncryptedFileStore.OpenAsync(folder.Path, Protector(passphrase));

    public static Task<EncryptedFileStore> OpenAsync(TempFolder folder, EncryptedFileStoreOptions options, string passphrase = "correct horse battery staple") =>
        EncryptedFileStore.OpenAsync(folder.Path, Protector(passphrase), options);
}
