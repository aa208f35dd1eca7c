using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;

namespace TelehealthMessaging.Crypto;

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
