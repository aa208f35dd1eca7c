using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Benchmarks;

/// <summary>
/// The building blocks a session message is made of, timed one by one so that docs/benchmarks.md can say where a
/// message's time goes: per message the chain KDF, the message-key HKDF and AES-GCM; per decryption the state copy
/// (which re-imports the X25519 ratchet key and so recomputes its public key); per DH ratchet step a key generation
/// and two X25519 agreements plus the root KDF; per session setup Ed25519 verifications, X25519 and ML-KEM.
/// </summary>
[MemoryDiagnoser]
public class PrimitiveBenchmarks : IDisposable
{
    private readonly byte[] _chainKey = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _rootKey = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _aeadKey = RandomNumberGenerator.GetBytes(Aead.KeySize);
    private readonly byte[] _nonce = RandomNumberGenerator.GetBytes(Aead.NonceSize);
    private readonly byte[] _associatedData = RandomNumberGenerator.GetBytes(200);
    private readonly byte[] _small = RandomNumberGenerator.GetBytes(256);
    private readonly byte[] _smallSealed = new byte[256 + Aead.TagSize];
    private readonly byte[] _large = RandomNumberGenerator.GetBytes(64 * 1024);
    private readonly byte[] _largeSealed = new byte[(64 * 1024) + Aead.TagSize];
    private readonly byte[] _signed = RandomNumberGenerator.GetBytes(64);
    private readonly byte[] _shared = new byte[32];
    private readonly byte[] _kemCiphertext = new byte[MLKem768.CiphertextSize];
    private readonly byte[] _keyBytes = RandomNumberGenerator.GetBytes(X25519PrivateKey.KeySize);
    private X25519PrivateKey _x25519 = null!;
    private byte[] _peerPublicKey = [];
    private Ed25519PrivateKey _ed25519 = null!;
    private byte[] _signature = [];
    private MLKem768PrivateKey _kem = null!;
    private byte[] _ratchetMessage = [];

    [GlobalSetup]
    public void GlobalSetup()
    {
        _x25519 = X25519PrivateKey.Generate();
        using (X25519PrivateKey peer = X25519PrivateKey.Generate())
        {
            _peerPublicKey = peer.PublicKey.ToArray();
        }

        _ed25519 = Ed25519PrivateKey.Generate();
        _signature = _ed25519.Sign(_signed);
        _kem = MLKem768PrivateKey.Generate();
        MLKem768.Encapsulate(_kem.EncapsulationKey, _kemCiphertext, _shared);
        Aead.Aes256Gcm.Seal(_aeadKey, _nonce, _small, _associatedData, _smallSealed);
        Aead.Aes256Gcm.Seal(_aeadKey, _nonce, _large, _associatedData, _largeSealed);
        using var pair = new SessionPair();
        pair.Establish(_small);
        _ratchetMessage = pair.AliceSessions.Encrypt(_small);
    }

    [GlobalCleanup]
    public void GlobalCleanup() => Dispose();

    /// <summary>KDF_CK: two HMAC-SHA256, once per message on each side.</summary>
    [Benchmark]
    public void ChainKdf()
    {
        RatchetKdf.Chain(_chainKey, out byte[] next, out byte[] messageKey);
        CryptographicOperations.ZeroMemory(next);
        CryptographicOperations.ZeroMemory(messageKey);
    }

    /// <summary>The HKDF that turns a message key into an AES key and nonce, once per message on each side.</summary>
    [Benchmark]
    public void MessageKeyHkdf()
    {
        Span<byte> key = stackalloc byte[Aead.KeySize];
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        RatchetKdf.MessageKeys(_chainKey, key, nonce);
    }

    /// <summary>KDF_RK: HKDF with a 64-byte output, twice per DH ratchet step.</summary>
    [Benchmark]
    public void RootKdf()
    {
        RatchetKdf.Root(_rootKey, _shared, out byte[] root, out byte[] chain);
        CryptographicOperations.ZeroMemory(root);
        CryptographicOperations.ZeroMemory(chain);
    }

    [Benchmark]
    public void AesGcmSeal256() => Aead.Aes256Gcm.Seal(_aeadKey, _nonce, _small, _associatedData, _smallSealed);

    [Benchmark]
    public void AesGcmOpen256() => Aead.Aes256Gcm.Open(_aeadKey, _nonce, _smallSealed, _associatedData, _small);

    [Benchmark]
    public void AesGcmSeal64K() => Aead.Aes256Gcm.Seal(_aeadKey, _nonce, _large, _associatedData, _largeSealed);

    [Benchmark]
    public void AesGcmOpen64K() => Aead.Aes256Gcm.Open(_aeadKey, _nonce, _largeSealed, _associatedData, _large);

    /// <summary>Parsing a 256-byte ratchet message off the wire, once per decryption.</summary>
    [Benchmark]
    public int ParseMessage256() => SessionMessage.Parse(_ratchetMessage).Ciphertext.Length;

    /// <summary>What the per-decryption state copy costs for the ratchet key: an import, which derives the public key.</summary>
    [Benchmark]
    public void X25519Import()
    {
        using var key = X25519PrivateKey.Import(_keyBytes);
    }

    /// <summary>A new ratchet key, once per DH ratchet step (and once per session setup).</summary>
    [Benchmark]
    public void X25519Generate()
    {
        using var key = X25519PrivateKey.Generate();
    }

    /// <summary>One X25519 agreement: two per DH ratchet step, four or five per session setup side.</summary>
    [Benchmark]
    public void X25519Agreement() => _x25519.DeriveSharedSecret(_peerPublicKey, _shared);

    /// <summary>One Ed25519 verification: the bundle costs three, the responder's check of the initiator identity one.</summary>
    [Benchmark]
    public bool Ed25519Verify() => Ed25519.Verify(_ed25519.PublicKey, _signed, _signature);

    /// <summary>Includes the FIPS 203 modulus check of the encapsulation key.</summary>
    [Benchmark]
    public void MLKemEncapsulate() => MLKem768.Encapsulate(_kem.EncapsulationKey, _kemCiphertext, _shared);

    [Benchmark]
    public void MLKemDecapsulate() => _kem.Decapsulate(_kemCiphertext, _shared);

    public void Dispose()
    {
        _x25519?.Dispose();
        _ed25519?.Dispose();
        _kem?.Dispose();
        GC.SuppressFinalize(this);
    }
}
