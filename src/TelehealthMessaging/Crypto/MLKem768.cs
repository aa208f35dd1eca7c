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
