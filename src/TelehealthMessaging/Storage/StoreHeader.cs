using System.Security.Cryptography;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Storage;

/// <summary>
/// The header file of an encrypted store: its random id and its key wrapped by the <see cref="IKeyProtector"/>,
/// authenticated by an HMAC under a key derived from the store key, so a wrong key is caught at open.
/// </summary>
/// <remarks>Layout: <c>"THST" ‖ version(1) ‖ store id(16) ‖ wrapped key length(4) ‖ wrapped key ‖ HMAC-SHA256(32)</c>.</remarks>
internal static class StoreHeader
{
    public const string FileName = "store.header";
    public const int StoreIdSize = 16;
    public const int StoreKeySize = 32;
    public const int MaxWrappedKeyLength = 4096;
    private const byte Version = 1;
    private const int MaxFileLength = 4 + 1 + StoreIdSize + 4 + MaxWrappedKeyLength + HmacSha256.TagSize;

    private static ReadOnlySpan<byte> Magic => "THST"u8;

    private static ReadOnlySpan<byte> HeaderKeyInfo => "TelehealthMessaging.Storage v1 header"u8;

    /// <summary>Creates a store: a random id and key, the key wrapped, the header written atomically.</summary>
    /// <returns>The store id and the store key; the caller zeroes the key.</returns>
    public static async Task<(byte[] StoreId, byte[] StoreKey)> CreateAsync(string directory, IKeyProtector protector, CancellationToken cancellationToken)
    {
        byte[] storeId = RandomNumberGenerator.GetBytes(StoreIdSize);
        byte[] storeKey = RandomNumberGenerator.GetBytes(StoreKeySize);
        try
        {
            byte[] wrapped = await protector.WrapKeyAsync(storeKey, cancellationToken).ConfigureAwait(false);
            if (wrapped is null || wrapped.Length > MaxWrappedKeyLength)
            {
                throw new InvalidOperationException($"The key protector returned no wrapped key or one over {MaxWrappedKeyLength} bytes.");
            }

            var writer = new WireWriter(64 + wrapped.Length);
            writer.WriteFixed(Magic).WriteUInt8(Version).WriteFixed(storeId).WriteBytes(wrapped, MaxWrappedKeyLength);
            byte[] tag = new byte[HmacSha256.TagSize];
            ComputeTag(storeKey, storeId, writer.WrittenSpan, tag);
            writer.WriteFixed(tag);
            // Never replace a header: a second store racing to create one must fail rather than orphan the first's records.
            await AtomicFile.WriteAsync(directory, FileName, writer.ToArray(), afterPartialWrite: null, overwrite: false, cancellationToken).ConfigureAwait(false);
            return (storeId, storeKey);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(storeKey);
            throw;
        }
    }

    /// <summary>Reads the header, unwraps the key and checks the header's tag under it.</summary>
    /// <returns>The store id and the store key; the caller zeroes the key.</returns>
    public static async Task<(byte[] StoreId, byte[] StoreKey)> OpenAsync(string path, IKeyProtector protector, CancellationToken cancellationToken)
    {
        byte[] bytes = await RecordFolder.ReadFileAsync(path, MaxFileLength, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException("The store header disappeared while the store was opening.");
        (byte[] storeId, byte[] wrapped) = Parse(bytes);

        byte[] storeKey = await protector.UnwrapKeyAsync(wrapped, cancellationToken).ConfigureAwait(false);
        if (storeKey is null || storeKey.Length != StoreKeySize)
        {
            if (storeKey is not null)
            {
                CryptographicOperations.ZeroMemory(storeKey);
            }

            throw new CryptographicFailureException(CryptographicFailureReason.InvalidPrivateKey, $"The key protector returned a store key that is not {StoreKeySize} bytes.");
        }

        int signedLength = bytes.Length - HmacSha256.TagSize;
        Span<byte> expected = stackalloc byte[HmacSha256.TagSize];
        ComputeTag(storeKey, storeId, bytes.AsSpan(0, signedLength), expected);
        bool authentic = CryptographicOperations.FixedTimeEquals(expected, bytes.AsSpan(signedLength));
        CryptographicOperations.ZeroMemory(expected);
        if (!authentic)
        {
            CryptographicOperations.ZeroMemory(storeKey);
            throw new CryptographicFailureException(
                CryptographicFailureReason.AuthenticationFailed,
                "The store header does not verify under the unwrapped key: the key is wrong or the header was altered.");
        }

        return (storeId, storeKey);
    }

    private static (byte[] StoreId, byte[] Wrapped) Parse(ReadOnlySpan<byte> bytes)
    {
        var reader = new WireReader(bytes);
        if (!reader.ReadFixed(Magic.Length, "the store header magic").SequenceEqual(Magic))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The store header file is not a TelehealthMessaging store header.");
        }

        if (reader.ReadUInt8("the store header version") != Version)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The store header has an unsupported version.");
        }

        byte[] storeId = reader.ReadFixed(StoreIdSize, "the store id").ToArray();
        byte[] wrapped = reader.ReadBytes(MaxWrappedKeyLength, "the wrapped store key").ToArray();
        reader.ReadFixed(HmacSha256.TagSize, "the store header tag");
        reader.EnsureEnd();
        return (storeId, wrapped);
    }

    private static void ComputeTag(ReadOnlySpan<byte> storeKey, ReadOnlySpan<byte> storeId, ReadOnlySpan<byte> signed, Span<byte> tag)
    {
        Span<byte> headerKey = stackalloc byte[HmacSha256.TagSize];
        HkdfSha256.DeriveKey(storeKey, storeId, HeaderKeyInfo, headerKey);
        HmacSha256.Compute(headerKey, signed, tag);
        CryptographicOperations.ZeroMemory(headerKey);
    }
}
