using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Storage;

/// <summary>
/// An <see cref="IKeyProtector"/> that wraps the store key under a key derived from a passphrase with Argon2id, for
/// platforms without a usable keystore.
/// </summary>
/// <remarks>
/// <para>
/// Wrapped blob: <c>version(1) ‖ memory KiB(4) ‖ iterations(4) ‖ parallelism(4) ‖ salt(16) ‖ nonce(12) ‖
/// AES-256-GCM(store key) ‖ tag(16)</c>, big-endian, with every byte before the nonce as associated data. The salt and
/// nonce are fresh for each wrap. Argon2id is version 1.3 (RFC 9106) from BouncyCastle, outputting 32 bytes.
/// </para>
/// <para>
/// The passphrase is encoded as UTF-8 without Unicode normalization: apps that accept non-ASCII passphrases should
/// normalize them (for example to NFC) before passing them here. Key derivation runs on the calling thread; offload
/// it from a UI thread. A wrong passphrase raises <see cref="TelehealthException"/> with
/// <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>. Dispose the protector to zero its copy of the passphrase.
/// </para>
/// </remarks>
public sealed class PassphraseKeyProtector : IKeyProtector, IDisposable
{
    private const byte Version = 1;
    private const int SaltSize = 16;
    private const int ParametersSize = 1 + (3 * sizeof(uint)) + SaltSize;
    private const int WrappedSize = ParametersSize + Aead.NonceSize + StoreHeader.StoreKeySize + Aead.TagSize;

    private readonly byte[] _passphrase;
    private readonly int _memoryKiB;
    private readonly int _iterations;
    private readonly int _parallelism;
    private readonly int _maxMemoryKiB;
    private readonly int _maxIterations;
    private volatile bool _disposed;

    /// <summary>Creates a protector with the default Argon2id parameters.</summary>
    /// <param name="passphrase">The user's passphrase; not empty.</param>
    /// <exception cref="ArgumentException"><paramref name="passphrase"/> is empty.</exception>
    public PassphraseKeyProtector(ReadOnlySpan<char> passphrase)
        : this(passphrase, new PassphraseKeyProtectorOptions())
    {
    }

    /// <summary>Creates a protector with chosen Argon2id parameters.</summary>
    /// <param name="passphrase">The user's passphrase; not empty.</param>
    /// <param name="options">The cost parameters; read once, here.</param>
    /// <exception cref="ArgumentException"><paramref name="passphrase"/> is empty or an option is out of range.</exception>
    public PassphraseKeyProtector(ReadOnlySpan<char> passphrase, PassphraseKeyProtectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (passphrase.IsEmpty)
        {
            throw new ArgumentException("The passphrase must not be empty.", nameof(passphrase));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallelism, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Parallelism, 16, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MemoryKiB, 8 * options.Parallelism, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Iterations, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMemoryKiB, options.MemoryKiB, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxIterations, options.Iterations, nameof(options));

        _memoryKiB = options.MemoryKiB;
        _iterations = options.Iterations;
        _parallelism = options.Parallelism;
        _maxMemoryKiB = options.MaxMemoryKiB;
        _maxIterations = options.MaxIterations;
        _passphrase = new byte[Encoding.UTF8.GetByteCount(passphrase)];
        Encoding.UTF8.GetBytes(passphrase, _passphrase);
    }

    /// <inheritdoc/>
    public ValueTask<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (key.Length != StoreHeader.StoreKeySize)
        {
            throw new ArgumentException($"The store key must be {StoreHeader.StoreKeySize} bytes.", nameof(key));
        }

        cancellationToken.ThrowIfCancellationRequested();
        byte[] wrapped = new byte[WrappedSize];
        Span<byte> parameters = wrapped.AsSpan(0, ParametersSize);
        parameters[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(parameters[1..], (uint)_memoryKiB);
        BinaryPrimitives.WriteUInt32BigEndian(parameters[5..], (uint)_iterations);
        BinaryPrimitives.WriteUInt32BigEndian(parameters[9..], (uint)_parallelism);
        RandomNumberGenerator.Fill(parameters.Slice(13, SaltSize));
        Span<byte> nonce = wrapped.AsSpan(ParametersSize, Aead.NonceSize);
        RandomNumberGenerator.Fill(nonce);

        byte[] wrappingKey = DeriveKey(_passphrase, parameters.Slice(13, SaltSize).ToArray(), _memoryKiB, _iterations, _parallelism);
        try
        {
            Aead.Aes256Gcm.Seal(wrappingKey, nonce, key.Span, parameters, wrapped.AsSpan(ParametersSize + Aead.NonceSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }

        return ValueTask.FromResult(wrapped);
    }

    /// <inheritdoc/>
    public ValueTask<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrappedKey, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        ReadOnlySpan<byte> wrapped = wrappedKey.Span;
        if (wrapped.Length != WrappedSize || wrapped[0] != Version)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The wrapped store key has an unknown format or version.");
        }

        uint memoryKiB = BinaryPrimitives.ReadUInt32BigEndian(wrapped[1..]);
        uint iterations = BinaryPrimitives.ReadUInt32BigEndian(wrapped[5..]);
        uint parallelism = BinaryPrimitives.ReadUInt32BigEndian(wrapped[9..]);
        if (parallelism is < 1 or > 16 || memoryKiB < 8 * parallelism || memoryKiB > (uint)_maxMemoryKiB || iterations < 1 || iterations > (uint)_maxIterations)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The wrapped store key names Argon2id parameters outside the accepted range.");
        }

        ReadOnlySpan<byte> parameters = wrapped[..ParametersSize];
        byte[] wrappingKey = DeriveKey(_passphrase, parameters.Slice(13, SaltSize).ToArray(), (int)memoryKiB, (int)iterations, (int)parallelism);
        try
        {
            byte[] key = new byte[StoreHeader.StoreKeySize];
            Aead.Aes256Gcm.Open(wrappingKey, wrapped.Slice(ParametersSize, Aead.NonceSize), wrapped[(ParametersSize + Aead.NonceSize)..], parameters, key);
            return ValueTask.FromResult(key);
        }
        catch (CryptographicFailureException exception)
        {
            throw new CryptographicFailureException(
                CryptographicFailureReason.AuthenticationFailed,
                "The store key did not unwrap: the passphrase is wrong or the store header was altered.",
                exception);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }
    }

    /// <summary>Zeroes the protector's copy of the passphrase.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_passphrase);
    }

    /// <summary>Describes the Argon2id parameters; never the passphrase.</summary>
    /// <returns>A description free of secrets.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"PassphraseKeyProtector(Argon2id m={_memoryKiB} KiB, t={_iterations}, p={_parallelism})");

    /// <summary>Argon2id v1.3 with a 32-byte output, no secret and no associated data.</summary>
    internal static byte[] DeriveKey(byte[] password, byte[] salt, int memoryKiB, int iterations, int parallelism)
    {
        Argon2Parameters parameters = new Argon2Parameters.Builder(Argon2Parameters.Argon2id)
            .WithVersion(Argon2Parameters.Version13)
            .WithSalt(salt)
            .WithMemoryAsKB(memoryKiB)
            .WithIterations(iterations)
            .WithParallelism(parallelism)
            .Build();
        var generator = new Argon2BytesGenerator();
        generator.Init(parameters);
        byte[] output = new byte[32];
        generator.GenerateBytes(password, output);
        return output;
    }
}
