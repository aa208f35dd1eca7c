using System.Security.Cryptography;
using BcEd25519 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;
using BcEd25519PrivateKey = Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters;

namespace TelehealthMessaging.Crypto;

/// <summary>An Ed25519 (RFC 8032, pure EdDSA) signing key: a 32-byte seed and its public key. Signing runs in BouncyCastle.</summary>
/// <remarks>
/// <see cref="Dispose"/> zeroes the seed this object holds; BouncyCastle's key object keeps its own copy, which it
/// offers no way to erase.
/// </remarks>
internal sealed class Ed25519PrivateKey : IDisposable
{
    public const int SeedSize = 32;

    private readonly byte[] _seed;
    private readonly BcEd25519PrivateKey _bcKey;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private Ed25519PrivateKey(byte[] seed)
    {
        _seed = seed;
        _bcKey = new BcEd25519PrivateKey(seed);
        _publicKey = _bcKey.GeneratePublicKey().GetEncoded();
    }

    /// <summary>The 32-byte encoded public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public static Ed25519PrivateKey Generate()
    {
        byte[] seed = new byte[SeedSize];
        RandomNumberGenerator.Fill(seed);
        return new Ed25519PrivateKey(seed);
    }

    /// <summary>Imports the 32-byte seed RFC 8032 calls the private key.</summary>
    public static Ed25519PrivateKey Import(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPrivateKey, "An Ed25519 private key", SeedSize, seed.Length);
        }

        return new Ed25519PrivateKey(seed.ToArray());
    }

    /// <summary>Copies the seed into <paramref name="destination"/> (exactly 32 bytes) for storage.</summary>
    public void Export(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length != SeedSize)
        {
            throw new ArgumentException($"The destination must be {SeedSize} bytes.", nameof(destination));
        }

        _seed.CopyTo(destination);
    }

    /// <summary>Signs <paramref name="message"/> and returns the 64-byte signature (deterministic, RFC 8032 §5.1.6).</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] signature = new byte[Ed25519.SignatureSize];
        _bcKey.Sign(BcEd25519.Algorithm.Ed25519, ctx: null, message, signature);
        return signature;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_seed);
            _disposed = true;
        }
    }

    public override string ToString() => "Ed25519PrivateKey";
}
