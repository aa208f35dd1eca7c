using System.Security.Cryptography;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Storage;

/// <summary>
/// The encrypted record layer under <see cref="EncryptedFileStore"/>: one file per record, named by an HMAC of the
/// record's address, holding AES-256-GCM ciphertext bound to the store and the address.
/// </summary>
/// <remarks>
/// <para>
/// Record file layout: <c>"THRC" ‖ version(1) ‖ nonce(12) ‖ AES-256-GCM(plaintext) ‖ tag(16)</c> where plaintext is
/// <c>category(1) ‖ name length(1) ‖ name ‖ value</c> and the associated data is
/// <c>store id(16) ‖ "THRC" ‖ version(1) ‖ token(32)</c>; the token is HMAC-SHA256 of
/// <c>category ‖ name length ‖ name</c> under the name key, and the file is named by the token in hex plus ".rec".
/// </para>
/// <para>
/// Writes go through <see cref="AtomicFile"/>. Operations on one record are serialized by one of 64 striped locks
/// (chosen by the token), so concurrent calls on one record apply in some order and calls on different records rarely
/// wait for each other. Reads also take the lock so that a Windows rename never meets an open reader.
/// </para>
/// <para>
/// The folder holds no keys itself: every operation takes the <see cref="StoreKeys"/> of the caller's
/// <see cref="KeyLease"/> from <see cref="Keyring"/>, so locking the store never races a running operation.
/// </para>
/// </remarks>
internal sealed class RecordFolder : IDisposable
{
    public const string RecordExtension = ".rec";
    public const string ShredExtension = ".shred";
    public const string ScopeFolderExtension = ".scope";
    private const byte Version = 1;
    private const int TokenSize = HmacSha256.TagSize;
    private const int PrefixSize = 4 + 1 + Aead.NonceSize;
    private const int MaxFileLength = PrefixSize + 2 + RecordAddress.MaxNameLength + StoreLimits.MaxValueLength + Aead.TagSize;
    private const int StripeCount = 64;

    private readonly SemaphoreSlim[] _stripes;

    private RecordFolder(string directory, StoreKeyring keyring)
    {
        Directory = directory;
        Keyring = keyring;
        _stripes = new SemaphoreSlim[StripeCount];
        for (int i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    /// <summary>Hands out the store's keys while it is unlocked.</summary>
    public StoreKeyring Keyring { get; }

    /// <summary>Test seam passed to <see cref="AtomicFile.WriteAsync"/> for record writes.</summary>
    internal Action<string>? AfterPartialWriteForTesting { get; set; }

    private static ReadOnlySpan<byte> Magic => "THRC"u8;

    public static async Task<RecordFolder> OpenAsync(string directory, IKeyProtector protector, TimeSpan? idleLockTimeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(directory);
        string headerPath = Path.Combine(directory, StoreHeader.FileName);
        byte[] storeId;
        byte[] storeKey;
        if (File.Exists(headerPath))
        {
            (storeId, storeKey) = await StoreHeader.OpenAsync(headerPath, protector, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (System.IO.Directory.EnumerateFiles(directory, "*" + RecordExtension).Any()
                || System.IO.Directory.EnumerateDirectories(directory, "*" + ScopeFolderExtension).Any())
            {
                // A new header would make every existing record unreadable; someone must look at this folder.
                throw new CryptographicFailureException(
                    CryptographicFailureReason.MalformedEncoding,
                    "The folder holds store records but no store header; refusing to create a new store over them.");
            }

            (storeId, storeKey) = await StoreHeader.CreateAsync(directory, protector, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Only once the key is known to be right: a failed open (a wrong passphrase) must leave the folder as it was.
            AtomicFile.DeleteLeftovers(directory);
            var keys = new StoreKeys(storeId, storeKey);
            return new RecordFolder(directory, new StoreKeyring(keys, idleLockTimeout, timeProvider));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(storeKey);
        }
    }

    /// <summary>Reads the header again and derives fresh keys, for unlocking; the folder is not changed.</summary>
    public async Task<StoreKeys> DeriveKeysAsync(IKeyProtector protector, CancellationToken cancellationToken)
    {
        (byte[] storeId, byte[] storeKey) = await StoreHeader.OpenAsync(Path.Combine(Directory, StoreHeader.FileName), protector, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!storeId.AsSpan().SequenceEqual(Keyring.StoreId))
            {
                throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "The store header belongs to a different store than the one that was opened.");
            }

            return new StoreKeys(storeId, storeKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(storeKey);
        }
    }

    public async ValueTask<byte[]?> ReadAsync(StoreKeys keys, RecordAddress address, CancellationToken cancellationToken)
    {
        byte[] token = Token(keys, address.Category, address.Name);
        SemaphoreSlim stripe = Stripe(token);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[]? file;
        try
        {
            file = await ReadFileAsync(PathOf(token), MaxFileLength, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }

        if (file is null)
        {
            return null;
        }

        byte[] plaintext = Open(keys, token, file);
        try
        {
            int nameLength = CheckLayout(plaintext);
            if (plaintext[0] != address.Category || !plaintext.AsSpan(2, nameLength).SequenceEqual(address.Name))
            {
                throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "A record file holds a different record than its name says.");
            }

            return plaintext.AsSpan(2 + nameLength).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public async ValueTask WriteAsync(StoreKeys keys, RecordAddress address, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        StoreLimits.CheckValueLength(value.Length);
        byte[] token = Token(keys, address.Category, address.Name);
        byte[] file = Seal(keys, address, token, value.Span);
        SemaphoreSlim stripe = Stripe(token);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await AtomicFile.WriteAsync(Directory, FileNameOf(token), file, AfterPartialWriteForTesting, overwrite: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<bool> DeleteAsync(StoreKeys keys, RecordAddress address, CancellationToken cancellationToken)
    {
        byte[] token = Token(keys, address.Category, address.Name);
        SemaphoreSlim stripe = Stripe(token);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string path = PathOf(token);
            if (!File.Exists(path))
            {
                return false;
            }

            File.Delete(path);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>Lists the records whose category passes <paramref name="category"/>, decrypting each to learn its name.</summary>
    public async Task<List<RecordAddress>> ListAsync(StoreKeys keys, Func<byte, bool> category, CancellationToken cancellationToken)
    {
        var found = new List<RecordAddress>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + RecordExtension))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!TryParseToken(Path.GetFileNameWithoutExtension(path), out byte[]? token))
            {
                continue;
            }

            byte[]? file = await ReadFileAsync(path, MaxFileLength, cancellationToken).ConfigureAwait(false);
            if (file is null)
            {
                continue;
            }

            byte[] plaintext = Open(keys, token, file);
            try
            {
                int nameLength = CheckLayout(plaintext);
                byte recordCategory = plaintext[0];
                byte[] name = plaintext.AsSpan(2, nameLength).ToArray();
                if (!CryptographicOperations.FixedTimeEquals(Token(keys, recordCategory, name), token))
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.AuthenticationFailed, "A record file holds a different record than its name says.");
                }

                if (category(recordCategory))
                {
                    found.Add(new RecordAddress(recordCategory, name));
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }

        return found;
    }

    /// <summary>
    /// Destroys a record: renames its file to <c>.shred</c> (one atomic step, after which the record is gone), then
    /// overwrites and deletes that file. Not cancellable once started, so it never stops between the two.
    /// </summary>
    /// <returns><see langword="true"/> when there was a record.</returns>
    public async ValueTask<bool> ShredAsync(StoreKeys keys, RecordAddress address)
    {
        byte[] token = Token(keys, address.Category, address.Name);
        SemaphoreSlim stripe = Stripe(token);
        await stripe.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            string shredded = Path.Combine(Directory, Convert.ToHexString(token) + ShredExtension);
            try
            {
                File.Move(PathOf(token), shredded, overwrite: true);
            }
            catch (FileNotFoundException)
            {
                return false;
            }

            OverwriteAndDelete(shredded);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>
    /// Overwrites a file with zeros, flushes it to the disk and deletes it. Best effort: copy-on-write file systems
    /// and flash wear levelling may keep the old blocks, which is why what it destroys is only ever ciphertext.
    /// </summary>
    internal static void OverwriteAndDelete(string path)
    {
        try
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                // In chunks: a leftover file found at open is not trusted to be as small as a scope-key record.
                byte[] zeros = new byte[4096];
                for (long remaining = stream.Length; remaining > 0; remaining -= zeros.Length)
                {
                    stream.Write(zeros, 0, (int)Math.Min(zeros.Length, remaining));
                }

                stream.Flush(flushToDisk: true);
            }

            File.Delete(path);
        }
        catch (FileNotFoundException)
        {
        }
    }

    public void Dispose() => Keyring.Dispose();

    public override string ToString() => "RecordFolder";

    /// <summary>Reads a whole file, or returns <see langword="null"/> when it does not exist; refuses files over <paramref name="maxLength"/>.</summary>
    internal static async Task<byte[]?> ReadFileAsync(string path, int maxLength, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            // FileShare.Delete lets a writer rename over the file while it is read, on Windows too.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            long length = stream.Length;
            if (length > maxLength)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.InvalidLength, "A store file is longer than any file the store writes.");
            }

            byte[] bytes = new byte[length];
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            return bytes;
        }
    }

    /// <summary>The file name for a record address; internal so tests can find a record's file.</summary>
    internal string FileNameOf(RecordAddress address)
    {
        using KeyLease lease = Keyring.Acquire();
        return FileNameOf(Token(lease.Keys, address.Category, address.Name));
    }

    /// <summary>Decrypts a top-level record file as it lies on disk; internal so tests can inspect every file.</summary>
    /// <returns>The plaintext <c>category ‖ name length ‖ name ‖ value</c>; the caller zeroes it.</returns>
    internal static byte[] DecryptFile(StoreKeys keys, string path)
    {
        if (!TryParseToken(Path.GetFileNameWithoutExtension(path), out byte[]? token))
        {
            throw new ArgumentException("Not a record file name.", nameof(path));
        }

        return Open(keys, token, File.ReadAllBytes(path));
    }

    internal static string FileNameOf(byte[] token) => Convert.ToHexString(token) + RecordExtension;

    internal static bool TryParseToken(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? token)
    {
        token = null;
        if (name.Length != TokenSize * 2 || !name.All(char.IsAsciiHexDigitUpper))
        {
            return false;
        }

        token = Convert.FromHexString(name);
        return true;
    }

    /// <summary>Checks <c>category ‖ name length ‖ name ‖ value</c> and returns the name length.</summary>
    private static int CheckLayout(ReadOnlySpan<byte> plaintext)
    {
        // The plaintext is authenticated, so a bad layout here means a bug, not an attack; still refuse it cleanly.
        if (plaintext.Length < 2 || plaintext[1] > RecordAddress.MaxNameLength || plaintext.Length < 2 + plaintext[1])
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A record's contents are malformed.");
        }

        return plaintext[1];
    }

    private static byte[] Seal(StoreKeys keys, RecordAddress address, byte[] token, ReadOnlySpan<byte> value)
    {
        byte[] plaintext = new byte[2 + address.Name.Length + value.Length];
        try
        {
            plaintext[0] = address.Category;
            plaintext[1] = checked((byte)address.Name.Length);
            address.Name.CopyTo(plaintext.AsSpan(2));
            value.CopyTo(plaintext.AsSpan(2 + address.Name.Length));

            byte[] file = new byte[PrefixSize + plaintext.Length + Aead.TagSize];
            Magic.CopyTo(file);
            file[Magic.Length] = Version;
            Span<byte> nonce = file.AsSpan(Magic.Length + 1, Aead.NonceSize);
            RandomNumberGenerator.Fill(nonce);
            Span<byte> associatedData = stackalloc byte[StoreHeader.StoreIdSize + Magic.Length + 1 + TokenSize];
            WriteAssociatedData(keys, token, associatedData);
            Aead.Aes256Gcm.Seal(keys.RecordKey, nonce, plaintext, associatedData, file.AsSpan(PrefixSize));
            return file;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] Open(StoreKeys keys, byte[] token, byte[] file)
    {
        if (file.Length < PrefixSize + 2 + Aead.TagSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidLength, "A record file is too short.");
        }

        if (!file.AsSpan(0, Magic.Length).SequenceEqual(Magic) || file[Magic.Length] != Version)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A record file has an unknown format or version.");
        }

        Span<byte> associatedData = stackalloc byte[StoreHeader.StoreIdSize + Magic.Length + 1 + TokenSize];
        WriteAssociatedData(keys, token, associatedData);
        byte[] plaintext = new byte[file.Length - PrefixSize - Aead.TagSize];
        try
        {
            Aead.Aes256Gcm.Open(keys.RecordKey, file.AsSpan(Magic.Length + 1, Aead.NonceSize), file.AsSpan(PrefixSize), associatedData, plaintext);
        }
        catch (CryptographicFailureException exception)
        {
            throw new CryptographicFailureException(
                CryptographicFailureReason.AuthenticationFailed,
                "A record file failed authentication: it was altered, copied from another record or store, or the key is wrong.",
                exception);
        }

        return plaintext;
    }

    private static void WriteAssociatedData(StoreKeys keys, byte[] token, Span<byte> destination)
    {
        keys.StoreId.CopyTo(destination);
        Magic.CopyTo(destination[StoreHeader.StoreIdSize..]);
        destination[StoreHeader.StoreIdSize + Magic.Length] = Version;
        token.CopyTo(destination[(StoreHeader.StoreIdSize + Magic.Length + 1)..]);
    }

    /// <summary>HMAC-SHA256 of <c>category ‖ name length ‖ name</c> under the name key: the record's file name and binding.</summary>
    internal static byte[] Token(StoreKeys keys, byte category, ReadOnlySpan<byte> name)
    {
        Span<byte> input = stackalloc byte[2 + RecordAddress.MaxNameLength];
        input[0] = category;
        input[1] = checked((byte)name.Length);
        name.CopyTo(input[2..]);
        byte[] token = new byte[TokenSize];
        HmacSha256.Compute(keys.NameKey, input[..(2 + name.Length)], token);
        return token;
    }

    private SemaphoreSlim Stripe(byte[] token) => _stripes[token[0] % StripeCount];

    private string PathOf(byte[] token) => Path.Combine(Directory, FileNameOf(token));
}
