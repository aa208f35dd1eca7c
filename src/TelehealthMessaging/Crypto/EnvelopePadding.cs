namespace TelehealthMessaging.Crypto;

/// <summary>
/// The padding buckets of sealed envelope contents: 512 bytes, then every power of two up to 2 MiB. Envelope contents
/// are zero-padded up to the smallest bucket that holds them, so an envelope's length reveals only its bucket.
/// </summary>
/// <remarks>
/// 512 bytes is the smallest bucket because the sender certificate and ratchet header alone take about 300 bytes: a
/// short text message and a typical chat reply share one size. Powers of two reveal at most 13 distinct sizes
/// (under 4 bits) at a cost of less than 2× in the worst case; large content travels as attachments, so almost every
/// envelope lands in the first three buckets.
/// </remarks>
internal static class EnvelopePadding
{
    public const int MinBucketSize = 512;

    /// <summary>The largest bucket: it holds a certificate and the largest session message (1 MiB of plaintext plus a PQXDH preamble).</summary>
    public const int MaxBucketSize = 2 * 1024 * 1024;

    /// <summary>The smallest bucket that holds <paramref name="contentLength"/> bytes.</summary>
    public static int BucketFor(int contentLength)
    {
        if (contentLength is < 0 or > MaxBucketSize)
        {
            throw new ArgumentOutOfRangeException(nameof(contentLength), $"Envelope content may be at most {MaxBucketSize} bytes.");
        }

        int bucket = MinBucketSize;
        while (bucket < contentLength)
        {
            bucket *= 2;
        }

        return bucket;
    }

    /// <summary>Whether <paramref name="length"/> is exactly one of the buckets.</summary>
    public static bool IsBucket(int length) =>
        length is >= MinBucketSize and <= MaxBucketSize && (length & (length - 1)) == 0;
}
