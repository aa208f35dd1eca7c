using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Storage;

/// <summary>The files inside a scope's folder: data records and per-collection indexes, sealed under the scope's keys.</summary>
/// <remarks>
/// <para>
/// File: <c>"THSD" ‖ version(1) ‖ nonce(12) ‖ AES-256-GCM(plaintext) ‖ tag(16)</c> under the scope record key, with
/// associated data <c>store id(16) ‖ "THSD" ‖ version(1) ‖ scope token(32) ‖ file token(32)</c>.
/// </para>
/// <para>
/// A record's plaintext is <c>0x01 ‖ collection length(1) ‖ collection ‖ name length(1) ‖ name ‖ value</c>, its
/// token HMAC-SHA256 of <c>0x01 ‖ collection length ‖ collection ‖ name length ‖ name</c> under the scope name key,
/// and its file <c>HEX(token).rec</c>. An index's plaintext is <c>0x02 ‖ collection length(1) ‖ collection ‖
/// count(4, big-endian) ‖ (name length(1) ‖ name)*</c> in ordinal order, its token HMAC-SHA256 of <c>0x02 ‖
/// collection length ‖ collection</c>, and its file <c>HEX(token).idx</c>.
/// </para>
/// </remarks>
internal static class ScopeRecordFormat
{
    public const string RecordExtension = ".rec";
    public const string IndexExtension = ".idx";
    private const byte Version = 1;
    private const byte RecordKind = 1;
    private const byte IndexKind = 2;
    private const int TokenSize = HmacSha256.TagSize;
    private const int PrefixSize = 4 + 1 + Aead.NonceSize;
    private const int MaxAddressSize = 1 + 1 + DataRecordNames.MaxLength + 1 + DataRecordNames.MaxLength;
    private const int AssociatedDataSize = StoreHeader.StoreIdSize + 4 + 1 + TokenSize + TokenSize;

    /// <summary>The longest file the store writes in a scope folder; a bound on reading untrusted files.</summary>
    public const int MaxFileLength = PrefixSize + MaxAddressSize + StoreLimits.MaxValueLength + Aead.TagSize;

    private static ReadOnlySpan<byte> Magic => "THSD"u8;

    public static byte[] RecordToken(ScopeKeys scope, string collection, string name)
    {
        Span<byte> input = stackalloc byte[MaxAddressSize];
        int length = WriteAddress(input, RecordKind, collection, name);
        return Hmac(scope, input[..length]);
    }

    public static byte[] IndexToken(ScopeKeys scope, string collection)
    {
        Span<byte> input = stackalloc byte[MaxAddressSize];
        int length = WriteAddress(input, IndexKind, collection, name: null);
        return Hmac(scope, input[..length]);
    }

    public static string FileName(byte[] token, string extension) => Convert.ToHexString(token) + extension;

    public static byte[] SealRecord(StoreKeys store, ScopeKeys scope, byte[] token, string collection, string name, ReadOnlySpan<byte> value)
    {
        byte[] plaintext = new byte[2 + collection.Length + 1 + name.Length + value.Length];
        try
        {
            int length = WriteAddress(plaintext, RecordKind, collection, name);
            value.CopyTo(plaintext.AsSpan(length));
            return Seal(store, scope, token, plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Decrypts a record file and checks it holds the record asked for.</summary>
    /// <returns>The value.</returns>
    public static byte[] OpenRecord(StoreKeys store, ScopeKeys scope, byte[] token, string collection, string name, byte[] file)
    {
        byte[] plaintext = Open(store.StoreId, scope, token, file);
        try
        {
            Span<byte> expected = stackalloc byte[MaxAddressSize];
            int length = WriteAddress(expected, RecordKind, collection, name);
            if (plaintext.Length < length || !plaintext.AsSpan(0, length).SequenceEqual(expected[..length]))
            {
                throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "A record file holds a different record than its name says.");
            }

            return plaintext.AsSpan(length).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <exception cref="InvalidOperationException">The names would not fit in the largest file the store writes.</exception>
    public static byte[] SealIndex(StoreKeys store, ScopeKeys scope, byte[] token, string collection, IReadOnlyCollection<string> names)
    {
        long size = 2 + collection.Length + 4 + names.Sum(name => 1L + name.Length);
        if (size > StoreLimits.MaxValueLength)
        {
            throw new InvalidOperationException($"A collection's record names may take at most {StoreLimits.MaxValueLength} bytes; delete records before adding more.");
        }

        byte[] plaintext = new byte[size];
        try
        {
            int offset = WriteAddress(plaintext, IndexKind, collection, name: null);
            BinaryPrimitives.WriteInt32BigEndian(plaintext.AsSpan(offset), names.Count);
            offset += 4;
            foreach (string name in names)
            {
                plaintext[offset++] = (byte)name.Length;
                offset += Encoding.ASCII.GetBytes(name, plaintext.AsSpan(offset));
            }

            return Seal(store, scope, token, plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Decrypts an index file and checks it is the index asked for.</summary>
    /// <returns>The record names, in ordinal order.</returns>
    public static List<string> OpenIndex(StoreKeys store, ScopeKeys scope, byte[] token, string collection, byte[] file)
    {
        byte[] plaintext = Open(store.StoreId, scope, token, file);
        try
        {
            return ParseIndex(plaintext, collection);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Decrypts any scope file; internal so tests can decrypt every file left in a folder.</summary>
    /// <returns>The plaintext; the caller zeroes it.</returns>
    internal static byte[] Open(ReadOnlySpan<byte> storeId, ScopeKeys scope, byte[] token, byte[] file)
    {
        if (file.Length < PrefixSize + 2 + Aead.TagSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidLength, "A scope file is too short.");
        }

        if (!file.AsSpan(0, Magic.Length).SequenceEqual(Magic) || file[Magic.Length] != Version)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A scope file has an unknown format or version.");
        }

        Span<byte> associatedData = stackalloc byte[AssociatedDataSize];
        WriteAssociatedData(storeId, scope, token, associatedData);
        byte[] plaintext = new byte[file.Length - PrefixSize - Aead.TagSize];
        try
        {
            Aead.Aes256Gcm.Open(scope.RecordKey, file.AsSpan(Magic.Length + 1, Aead.NonceSize), file.AsSpan(PrefixSize), associatedData, plaintext);
        }
        catch (CryptographicFailureException exception)
        {
            throw new CryptographicFailureException(
                CryptographicFailureReason.AuthenticationFailed,
                "A scope file failed authentication: it was altered, copied from another record, scope or store, or the key is wrong.",
                exception);
        }

        return plaintext;
    }

    private static List<string> ParseIndex(byte[] plaintext, string collection)
    {
        Span<byte> expected = stackalloc byte[MaxAddressSize];
        int offset = WriteAddress(expected, IndexKind, collection, name: null);
        if (plaintext.Length < offset + 4 || !plaintext.AsSpan(0, offset).SequenceEqual(expected[..offset]))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "An index file holds a different index than its name says.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(plaintext.AsSpan(offset));
        offset += 4;
        var names = new List<string>(Math.Clamp(count, 0, plaintext.Length));
        for (int i = 0; i < count; i++)
        {
            // The plaintext is authenticated, so a bad layout means a bug, not an attack; still refuse it cleanly.
            if (offset >= plaintext.Length || plaintext[offset] is 0 or > DataRecordNames.MaxLength || offset + 1 + plaintext[offset] > plaintext.Length)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "An index file's contents are malformed.");
            }

            names.Add(Encoding.ASCII.GetString(plaintext, offset + 1, plaintext[offset]));
            offset += 1 + plaintext[offset];
        }

        if (count < 0 || offset != plaintext.Length)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "An index file's contents are malformed.");
        }

        return names;
    }

    private static byte[] Seal(StoreKeys store, ScopeKeys scope, byte[] token, ReadOnlySpan<byte> plaintext)
    {
        byte[] file = new byte[PrefixSize + plaintext.Length + Aead.TagSize];
        Magic.CopyTo(file);
        file[Magic.Length] = Version;
        Span<byte> nonce = file.AsSpan(Magic.Length + 1, Aead.NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> associatedData = stackalloc byte[AssociatedDataSize];
        WriteAssociatedData(store.StoreId, scope, token, associatedData);
        Aead.Aes256Gcm.Seal(scope.RecordKey, nonce, plaintext, associatedData, file.AsSpan(PrefixSize));
        return file;
    }

    private static void WriteAssociatedData(ReadOnlySpan<byte> storeId, ScopeKeys scope, byte[] token, Span<byte> destination)
    {
        storeId.CopyTo(destination);
        Magic.CopyTo(destination[StoreHeader.StoreIdSize..]);
        destination[StoreHeader.StoreIdSize + Magic.Length] = Version;
        scope.Token.CopyTo(destination[(StoreHeader.StoreIdSize + Magic.Length + 1)..]);
        token.CopyTo(destination[(StoreHeader.StoreIdSize + Magic.Length + 1 + TokenSize)..]);
    }

    /// <summary>Writes <c>kind ‖ collection length ‖ collection [‖ name length ‖ name]</c> and returns its length.</summary>
    private static int WriteAddress(Span<byte> destination, byte kind, string collection, string? name)
    {
        destination[0] = kind;
        destination[1] = (byte)collection.Length;
        int offset = 2 + Encoding.ASCII.GetBytes(collection, destination[2..]);
        if (name is not null)
        {
            destination[offset] = (byte)name.Length;
            offset += 1 + Encoding.ASCII.GetBytes(name, destination[(offset + 1)..]);
        }

        return offset;
    }

    private static byte[] Hmac(ScopeKeys scope, ReadOnlySpan<byte> input)
    {
        byte[] token = new byte[TokenSize];
        HmacSha256.Compute(scope.NameKey, input, token);
        return token;
    }
}
