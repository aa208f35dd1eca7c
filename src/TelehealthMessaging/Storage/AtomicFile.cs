using System.Security.Cryptography;

namespace TelehealthMessaging.Storage;

/// <summary>Replaces a file so that a crash at any point leaves either the whole old file or the whole new one.</summary>
internal static class AtomicFile
{
    public const string TempExtension = ".tmp";

    /// <summary>
    /// Writes <paramref name="contents"/> to a new temporary file beside the target, flushes it to the disk, then
    /// renames it over the target. A failure or cancellation before the rename deletes the temporary file and leaves
    /// the target as it was.
    /// </summary>
    /// <param name="directory">The folder of the target; the temporary file goes there too, so the rename stays on one volume.</param>
    /// <param name="fileName">The target's file name.</param>
    /// <param name="contents">The new contents.</param>
    /// <param name="afterPartialWrite">
    /// A test seam: called with the temporary file's path once half the bytes are on disk; it may throw to simulate a
    /// crash in the middle of a write.
    /// </param>
    /// <param name="overwrite">
    /// <see langword="false"/> to fail with an <see cref="IOException"/> when the target already exists (another
    /// writer got there first) instead of replacing it.
    /// </param>
    /// <param name="cancellationToken">Cancels the write before the rename; the target is then unchanged.</param>
    public static async Task WriteAsync(string directory, string fileName, ReadOnlyMemory<byte> contents, Action<string>? afterPartialWrite, bool overwrite, CancellationToken cancellationToken)
    {
        string target = Path.Combine(directory, fileName);
        string temporary = Path.Combine(directory, $"{fileName}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(8))}{TempExtension}");
        bool renamed = false;
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                if (afterPartialWrite is null)
                {
                    await stream.WriteAsync(contents, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    int half = contents.Length / 2;
                    await stream.WriteAsync(contents[..half], cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                    afterPartialWrite(temporary);
                    await stream.WriteAsync(contents[half..], cancellationToken).ConfigureAwait(false);
                }

                // The data must be on the disk before the rename is, or a power cut could leave a renamed empty file.
                stream.Flush(flushToDisk: true);
            }

            // Past this point the write goes ahead even if cancellation is requested: the rename is one atomic step.
            File.Move(temporary, target, overwrite);
            renamed = true;
        }
        finally
        {
            if (!renamed)
            {
                TryDelete(temporary);
            }
        }
    }

    /// <summary>Deletes temporary files a crashed process left behind in the folder and its scope folders; they never hold a committed record.</summary>
    public static void DeleteLeftovers(string directory)
    {
        foreach (string path in Directory.EnumerateFiles(directory, "*" + TempExtension, SearchOption.AllDirectories))
        {
            TryDelete(path);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary file is ignored by readers and removed at the next open.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
