using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace TelehealthMessaging.Benchmarks;

/// <summary>
/// The operations the encryption issue sets targets for, each one message encrypted by one device and decrypted by
/// the other in this process. run.sh compares them with the libsignal baseline by method name.
/// </summary>
[MemoryDiagnoser]
public class SessionBenchmarks : IDisposable
{
    private readonly byte[] _small = RandomNumberGenerator.GetBytes(256);
    private readonly byte[] _large = RandomNumberGenerator.GetBytes(64 * 1024);
    private SessionPair _pair = null!;
    private SealedPair _sealed = null!;
    private byte[] _bundle = [];

    [GlobalSetup]
    public void GlobalSetup()
    {
        _pair = new SessionPair();
        _bundle = _pair.CreateBundle();

        // A broken roundtrip must fail the run, not be timed.
        ExpectRoundtrip(_pair.SetUp(_bundle, _small), _small);
        _pair.Establish(_small);
        ExpectRoundtrip(_pair.AliceToBob(_small), _small);
        ExpectRoundtrip(_pair.BobToAlice(_small), _small);
        ExpectRoundtrip(_pair.AliceToBob(_large), _large);

        _sealed = SealedPair.CreateAsync().GetAwaiter().GetResult();
        ExpectRoundtrip(_sealed.EstablishAsync(_small).GetAwaiter().GetResult(), _small);
        ExpectRoundtrip(_sealed.AliceToBobAsync(_small).GetAwaiter().GetResult(), _small);
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _pair.Dispose();
        _sealed.Dispose();
    }

    /// <summary>Alice encrypts 256 bytes, Bob decrypts: the same sending chain every time (no DH ratchet step).</summary>
    [Benchmark]
    public byte[] UnsealedOneDirection256() => _pair.AliceToBob(_small);

    /// <summary>Alice → Bob then Bob → Alice: every message starts a new sending chain, so each costs a DH ratchet step.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public byte[] Alternating256()
    {
        _pair.AliceToBob(_small);
        return _pair.BobToAlice(_small);
    }

    /// <summary>
    /// Alice seals 256 bytes to Bob with <see cref="Crypto.SecureMessenger"/> (ratchet message, sender certificate,
    /// padding, HPKE envelope, session stored), Bob opens it (HPKE, certificate check, ratchet decryption, session
    /// stored): an established session over in-memory stores, as the client layer uses it.
    /// </summary>
    [Benchmark]
    public Task<byte[]> SealedOneDirection256() => _sealed.AliceToBobAsync(_small);

    /// <summary>Parse and verify Bob's bundle, PQXDH as initiator (ML-KEM encapsulation), first encrypt, Bob's first decrypt.</summary>
    [Benchmark]
    public byte[] SessionSetup256() => _pair.SetUp(_bundle, _small);

    /// <summary>Alice encrypts 64 KiB, Bob decrypts.</summary>
    [Benchmark]
    public byte[] UnsealedOneDirection64K() => _pair.AliceToBob(_large);

    public void Dispose()
    {
        _pair?.Dispose();
        _sealed?.Dispose();
        GC.SuppressFinalize(this);
    }

    private static void ExpectRoundtrip(byte[] decrypted, byte[] sent)
    {
        if (!decrypted.AsSpan().SequenceEqual(sent))
        {
            throw new InvalidOperationException("A roundtrip returned different plaintext.");
        }
    }
}
