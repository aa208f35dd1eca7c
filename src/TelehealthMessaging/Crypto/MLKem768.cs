using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace TelehealthMessaging.Crypto;

/// <summary>ML-KEM-768 (FIPS 203) encapsulation against a peer's encapsulation key. The algorithm runs in BouncyCastle.</summary>
internal static class MLKem768
{
    public const int EncapsulationKeySize = 1184;
    public const int CiphertextSize = 1088;
    public const int SharedSecretSize = 32;

    /// <summary>The private key form stored: the 64-byte seed d ‖ z of FIPS 203 §7.1, from which the key expands.</summary>
    public const int SeedSize = 64;

    /// <summary>
    /// Encapsulates to <paramref name="encapsulationKey"/>, writing the 1088-byte ciphertext and 32-byte shared secret.
    /// Throws <see cref="CryptographicFailureException"/> (<see cref="CryptographicFailureReason.InvalidPublicKey"/>) for a
    /// wrong-length key or one that fails the FIPS 203 §7.2 modulus check.
    /// </summary>
    public static void Encapsulate(ReadOnlySpan<byte> encapsulationKey, Span<byte> ciphertext, Span<byte> sharedSecret) =>
        Encapsulate(encapsulationKey, ciphertext, sharedSecret, new SecureRandom());

    /// <summary>Encapsulates with a caller-supplied randomness source; tests use it to reproduce known-answer vectors.</summary>
    internal static void Encapsulate(ReadOnlySpan<byte> encapsulationKey, Span<byte> ciphertext, Span<byte> sharedSecret, SecureRandom random)
    {
        if (ciphertext.Length != CiphertextSize)
        {
            throw new ArgumentException($"The ciphertext destination must be {CiphertextSize} bytes.", nameof(ciphertext));
        }

        if (sharedSecret.Length != SharedSecretSize)
        {
            throw new ArgumentException($"The shared secret destination must be {SharedSecretSize} bytes.", nameof(sharedSecret));
        }

        MLKemPublicKeyParameters key = ImportEncapsulationKey(encapsulationKey);
        var encapsulator = new MLKemEncapsulator(MLKemParameters.ml_kem_768);
        encapsulator.Init(new ParametersWithRandom(key, random));
        encapsulator.Encapsulate(ciphertext, sharedSecret);
    }

    /// <summary>Checks the length and the FIPS 203 §7.2 modulus of an encapsulation key received from a peer.</summary>
    public static void ValidateEncapsulationKey(ReadOnlySpan<byte> encapsulationKey) => ImportEncapsulationKey(encapsulationKey);

    private static MLKemPublicKeyParameters ImportEncapsulationKey(ReadOnlySpan<byte> encapsulationKey)
    {
        if (encapsulationKey.Length != EncapsulationKeySize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, "An ML-KEM-768 encapsulation key", EncapsulationKeySize, encapsulationKey.Length);
        }

        try
        {
            return MLKemPublicKeyParameters.FromEncoding(MLKemParameters.ml_kem_768, encapsulationKey.ToArray());
        }
        catch (ArgumentException ex)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidPublicKey, "The ML-KEM-768 encapsulation key failed the FIPS 203 modulus check.", ex);
        }
    }
}

/// <summary>
/// An ML-KEM-768 decapsulation key, held as its 64-byte seed (FIPS 203 §7.1 d ‖ z) and expanded once by BouncyCastle.
/// </summary>
/// <remarks>
/// <see cref="Dispose"/> zeroes the seed this object holds; the expanded key inside BouncyCastle has no erase
/// operation and is left to the garbage collector.
/// </remarks>
internal sealed class MLKem768PrivateKey : IDisposable
{
    private readonly byte[] _seed;
    private readonly MLKemPrivateKeyParameters _key;
    private readonly byte[] _encapsulationKey;
    private bool _disposed;

    private MLKem768PrivateKey(byte[] seed)
    {
        _seed = seed;
        _key = MLKemPrivateKeyParameters.FromSeed(MLKemParameters.ml_kem_768, seed);
        _encapsulationKey = _key.GetPublicKeyEncoded();
    }

    /// <summary>The 1184-byte encapsulation (public) key.</summary>
    public ReadOnlySpan<byte> EncapsulationKey => _encapsulationKey;

    public static MLKem768PrivateKey Generate()
    {
        byte[] seed = new byte[MLKem768.SeedSize];
        RandomNumberGenerator.Fill(seed);
        return new MLKem768PrivateKey(seed);
    }

    /// <summary>Imports the 64-byte seed produced by <see cref="ExportSeed"/>.</summary>
    public static MLKem768PrivateKey Import(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != MLKem768.SeedSize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPrivateKey, "An ML-KEM-768 seed", MLKem768.SeedSize, seed.Length);
        }

        return new MLKem768PrivateKey(seed.ToArray());
    }

    /// <summary>Copies the 64-byte seed into <paramref name="destination"/> for storage.</summary>
    public void ExportSeed(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length != MLKem768.SeedSize)
        {
            throw new ArgumentException($"The destination must be {MLKem768.SeedSize} bytes.", nameof(destination));
        }

        _seed.CopyTo(destination);
    }

    /// <summary>
    /// Decapsulates a 1088-byte ciphertext into the 32-byte shared secret. A well-sized but altered ciphertext yields
    /// FIPS 203's implicit-rejection secret (a different key), so the failure shows up later at the AEAD, never here.
    /// </summary>
    public void Decapsulate(ReadOnlySpan<byte> ciphertext, Span<byte> sharedSecret)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sharedSecret.Length != MLKem768.SharedSecretSize)
        {
            throw new ArgumentException($"The shared secret destination must be {MLKem768.SharedSecretSize} bytes.", nameof(sharedSecret));
        }

        if (ciphertext.Length != MLKem768.CiphertextSize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidLength, "An ML-KEM-768 ciphertext", MLKem768.CiphertextSize, ciphertext.Length);
        }

        var decapsulator = new MLKemDecapsulator(MLKemParameters.ml_kem_768);
        decapsulator.Init(_key);
        decapsulator.Decapsulate(ciphertext, sharedSecret);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_seed);
            _disposed = true;
        }
    }

    public override string ToString() => "MLKem768PrivateKey";
}
