using System.Security.Cryptography;

namespace TelehealthMessaging.Messaging;

/// <summary>
/// A reference to an encrypted attachment stored elsewhere: where to fetch it, how large it is, what it is, the
/// SHA-256 digest of the encrypted bytes and the AES-256 key that decrypts them.
/// </summary>
public sealed record AttachmentReferenceContent : MessageContent
{
    /// <summary>The length of <see cref="Sha256"/> in bytes.</summary>
    public const int DigestLength = 32;

    /// <summary>The length of <see cref="Key"/> in bytes.</summary>
    public const int KeyLength = 32;

    /// <summary>The longest file name accepted.</summary>
    public const int MaxFileNameLength = 255;

    private const int MaxMediaTypeLength = 255;

    private readonly byte[] _sha256;
    private readonly byte[] _key;

    /// <summary>Creates an attachment reference.</summary>
    /// <param name="attachmentId">The attachment's id in the store: 1 to 64 characters of <c>A-Z a-z 0-9 - .</c>.</param>
    /// <param name="size">The size of the plaintext in bytes; not negative.</param>
    /// <param name="mediaType">The MIME type of the plaintext, for example <c>image/jpeg</c>.</param>
    /// <param name="sha256">The SHA-256 digest of the stored (encrypted) bytes: 32 bytes.</param>
    /// <param name="key">The AES-256 key: 32 bytes. Copied.</param>
    /// <param name="fileName">The original file name, if any (personal data); at most 255 characters, no path separators.</param>
    /// <exception cref="ArgumentException">An argument is malformed (messages never contain the key or digest).</exception>
    public AttachmentReferenceContent(string attachmentId, long size, string mediaType, ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> key, string? fileName = null)
    {
        if (!Identifier.IsValid(attachmentId))
        {
            throw new ArgumentException("An attachment id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.", nameof(attachmentId));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (!IsMediaType(mediaType))
        {
            throw new ArgumentException("The media type must have the form type/subtype.", nameof(mediaType));
        }

        if (sha256.Length != DigestLength)
        {
            throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(sha256));
        }

        if (key.Length != KeyLength)
        {
            throw new ArgumentException("An AES-256 key is 32 bytes.", nameof(key));
        }

        if (fileName is not null && (fileName.Length is 0 or > MaxFileNameLength || fileName.Any(c => c is '/' or '\\' || char.IsControl(c))))
        {
            throw new ArgumentException("A file name must be 1 to 255 characters without path separators or control characters.", nameof(fileName));
        }

        AttachmentId = attachmentId;
        Size = size;
        MediaType = mediaType;
        _sha256 = sha256.ToArray();
        _key = key.ToArray();
        FileName = fileName;
    }

    /// <summary>The attachment's id in the store.</summary>
    public string AttachmentId { get; }

    /// <summary>The size of the plaintext in bytes.</summary>
    public long Size { get; }

    /// <summary>The MIME type of the plaintext.</summary>
    public string MediaType { get; }

    /// <summary>The SHA-256 digest of the stored (encrypted) bytes.</summary>
    public ReadOnlySpan<byte> Sha256 => _sha256;

    /// <summary>The AES-256 key that decrypts the attachment (key material).</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>The original file name, if any (personal data).</summary>
    public string? FileName { get; }

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.AttachmentReference;

    /// <summary>Attachment references are equal when every field is equal; the keys are compared in constant time.</summary>
    /// <param name="other">The reference to compare with.</param>
    /// <returns>Whether both refer to the same attachment with the same key.</returns>
    public bool Equals(AttachmentReferenceContent? other) =>
        other is not null
        && string.Equals(AttachmentId, other.AttachmentId, StringComparison.Ordinal)
        && Size == other.Size
        && string.Equals(MediaType, other.MediaType, StringComparison.Ordinal)
        && string.Equals(FileName, other.FileName, StringComparison.Ordinal)
        && _sha256.AsSpan().SequenceEqual(other._sha256)
        && CryptographicOperations.FixedTimeEquals(_key, other._key);

    // The key is left out of the hash: hash codes can end up in logs or timing side channels.
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(AttachmentId, Size, MediaType, FileName);

    // RFC 6838 restricted names: type "/" subtype, each 1-127 of ALPHA DIGIT ! # $ & - ^ _ . +, parameters not allowed.
    private static bool IsMediaType(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxMediaTypeLength)
        {
            return false;
        }

        int slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < value.Length - 1
            && IsRestrictedName(value.AsSpan(0, slash)) && IsRestrictedName(value.AsSpan(slash + 1));

        static bool IsRestrictedName(ReadOnlySpan<char> name)
        {
            if (name.Length > 127 || !char.IsAsciiLetterOrDigit(name[0]))
            {
                return false;
            }

            foreach (char c in name)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('!' or '#' or '$' or '&' or '-' or '^' or '_' or '.' or '+'))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
