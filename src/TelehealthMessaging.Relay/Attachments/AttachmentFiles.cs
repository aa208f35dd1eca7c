using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Attachments;

/// <summary>
/// Attachment ciphertext on disk. Paths are built only from ids that passed <see cref="IsValidBlobId"/>, so no
/// request can name a file outside the blob folder.
/// </summary>
internal sealed class AttachmentFiles
{
    public const int MinBlobIdLength = BlobId.MinLength;
    public const int MaxBlobIdLength = BlobId.MaxLength;

    private readonly string _directory;

    public AttachmentFiles(RelayOptions options)
    {
        _directory = options.ResolvedBlobDirectory;
    }

    /// <summary>16 to 64 characters of <c>A-Z a-z 0-9 _ -</c>: no dots, slashes or anything a path could interpret.</summary>
    public static bool IsValidBlobId(string? blobId) => BlobId.IsValid(blobId);

    public string PathOf(string blobId)
    {
        if (!IsValidBlobId(blobId))
        {
            throw new ArgumentException("The blob id is not valid.", nameof(blobId));
        }

        return Path.Combine(_directory, blobId + ".bin");
    }

    /// <summary>Creates a uniquely named temporary file beside the blobs, so that the final rename stays on one volume.</summary>
    public FileStream CreateTemporary()
    {
        Directory.CreateDirectory(_directory);
        string path = Path.Combine(_directory, "upload-" + Guid.NewGuid().ToString("N") + ".tmp");
        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
    }

    /// <summary>Moves a finished upload into place; returns <see langword="false"/> when the blob already exists.</summary>
    public bool TryCommit(string temporaryPath, string blobId)
    {
        try
        {
            File.Move(temporaryPath, PathOf(blobId), overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(PathOf(blobId)))
        {
            return false;
        }
    }

    public static void DeleteTemporary(string temporaryPath)
    {
        try
        {
            File.Delete(temporaryPath);
        }
        catch (IOException)
        {
            // Best effort: an orphaned temporary file holds ciphertext only and never becomes visible.
        }
    }

    public void Delete(string blobId)
    {
        try
        {
            File.Delete(PathOf(blobId));
        }
        catch (IOException)
        {
        }
    }
}
