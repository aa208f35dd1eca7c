using System.Security.Cryptography;
using BcX25519PrivateKey = Org.BouncyCastle.Crypto.Parameters.X25519PrivateKeyParameters;
using BcX25519PublicKey = Org.BouncyCastle.Crypto.Parameters.X25519PublicKeyParameters;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// An X25519 (RFC 7748) private key with its public key. Agreement runs in BouncyCastle; this type fixes the sizes
/// and refuses the all-zero shared secret that low-order peer public keys produce (RFC 7748 §6.1).
/// </summary>
/// <remarks>
/// Peer public keys are taken as RFC 7748 §5 defines them: the top bit is masked and non-canonical values
/// (u ≥ 2^255 − 19) are reduced, as §7 recommends; points on the twist are accepted because X25519 is defined there.
/// Only an all-zero result is refused. <see cref="Dispose"/> zeroes the copy this object holds; BouncyCastle's key
/// object keeps its own copy, which it offers no way to erase.
/// </remarks>
internal sealed class X25519PrivateKey : IDisposable
{
    public const int KeySize = 32;
    public const int PublicKeySize = 32;
    public const int SharedSecretSize = 32;

    private readonly byte[] _privateKey;
    private readonly BcX25519PrivateKey _bcKey;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private X25519PrivateKey(byte[] privateKey)
        : this(privateKey, publicKey: null)
    {
    }

    private X25519PrivateKey(byte[] privateKey, byte[]? publicKey)
    {
        _privateKey = privateKey;
        _bcKey = new BcX25519PrivateKey(privateKey);

        // Deriving the public key is a scalar multiplication: a copy takes it from the key it copies instead.
        _publicKey = publicKey ?? _bcKey.GeneratePublicKey().GetEncoded();
    }

    /// <summary>The 32-byte public key (u-coordinate, little-endian).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public static X25519PrivateKey Generate()
    {
        byte[] key = new byte[KeySize];
        RandomNumberGenerator.Fill(key);
        return new X25519PrivateKey(key);
    }

    /// <summary>Imports a 32-byte private key (any 32 bytes are valid: clamping happens inside X25519).</summary>
    public static X25519PrivateKey Import(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeySize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPrivateKey, "An X25519 private key", KeySize, privateKey.Length);
        }

        return new X25519PrivateKey(privateKey.ToArray());
    }

    /// <summary>
    /// An independent key with the same value: its own private key copy, zeroed by its own <see cref="Dispose"/>, and
    /// the public key carried over rather than recomputed.
    /// </summary>
    public X25519PrivateKey Copy()
    {
        ThrowIfDisposed();
        return new X25519PrivateKey((byte[])_privateKey.Clone(), (byte[])_publicKey.Clone());
    }

    /// <summary>Copies the private key into <paramref name="destination"/> (exactly 32 bytes) for storage.</summary>
    public void Export(Span<byte> destination)
    {
        ThrowIfDisposed();
        if (destination.Length != KeySize)
        {
            throw new ArgumentException($"The destination must be {KeySize} bytes.", nameof(destination));
        }

        _privateKey.CopyTo(destination);
    }

    /// <summary>
    /// Computes X25519(this, <paramref name="peerPublicKey"/>) into <paramref name="sharedSecret"/> (32 bytes).
    /// Throws <see cref="CryptographicFailureException"/> for a wrong-length key or an all-zero result; the destination
    /// is zeroed in that case.
    /// </summary>
    public void DeriveSharedSecret(ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
    {
        ThrowIfDisposed();
        if (sharedSecret.Length != SharedSecretSize)
        {
            throw new ArgumentException($"The shared secret destination must be {SharedSecretSize} bytes.", nameof(sharedSecret));
        }

        if (peerPublicKey.Length != PublicKeySize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, "An X25519 public key", PublicKeySize, peerPublicKey.Length);
        }

        var publicParameters = new BcX25519PublicKey(peerPublicKey);
        try
        {
            // BouncyCastle itself throws InvalidOperationException on an all-zero result; the explicit check below
            // keeps the guarantee even if that behaviour changes.
            _bcKey.GenerateSecret(publicParameters, sharedSecret);
        }
        catch (InvalidOperationException ex)
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            throw NonContributory(ex);
        }

        if (IsAllZero(sharedSecret))
        {
            throw NonContributory(null);
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_privateKey);
            _disposed = true;
        }
    }

    public override string ToString() => "X25519PrivateKey";

    private static bool IsAllZero(ReadOnlySpan<byte> value)
    {
        // Constant time: the secret's bytes must not steer branches.
        int accumulator = 0;
        foreach (byte b in value)
        {
            accumulator |= b;
        }

        return accumulator == 0;
    }

    private static CryptographicFailureException NonContributory(Exception? inner) =>
        new(CryptographicFailureReason.NonContributoryPublicKey, "The X25519 agreement produced the all-zero secret: the peer public key has low order.", inner);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
