using System.Text;

namespace TelehealthMessaging.Quickstart;

/// <summary>Searches every file under a folder for strings, byte for byte as UTF-8 (how SQLite stores text).</summary>
internal static class PlaintextScan
{
    public static ScanResult Run(string folder, IReadOnlyCollection<string> secrets)
    {
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
        long bytes = 0;
        var found = new List<(string File, string Secret)>();
        foreach (string file in files)
        {
            // The relay may still hold the database open; share it rather than fail.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] content = copy.ToArray();
            bytes += content.Length;
            foreach (string secret in secrets)
            {
                if (content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0)
                {
                    found.Add((Path.GetRelativePath(folder, file), secret));
                }
            }
        }

        return new ScanResult(files.Select(f => Path.GetRelativePath(folder, f)).Order().ToList(), bytes, found);
    }

    internal sealed record ScanResult(IReadOnlyList<string> Files, long Bytes, IReadOnlyList<(string File, string Secret)> Found);
}
