using System.Buffers.Binary;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// An HPKE encryption context (RFC 9180 §5.2): the AEAD key, base nonce, sequence number and exporter secret.
/// </summary>
/// <remarks>Not thread-safe: the sequence number is state. <see cref="Dispose"/> zeroes the key material.</remarks>
internal abstract class HpkeContext : IDisposable
{
    private readonly HpkeKeySchedule _schedule;
    private bool _disposed;

    private protected HpkeContext(HpkeKeySchedule schedule)
    {
        _schedule = schedule;
        _schedule.ForgetSecret();
    }

    /// <summary>The number of messages sealed or opened so far; it selects the next nonce.</summary>
    public ulong SequenceNumber { get; private set; }

    /// <summary>Export (RFC 9180 §5.3): derives <paramref name="length"/> bytes bound to this context and <paramref name="exporterContext"/>.</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ThrowIfDisposed();
        if (length is < 1 or > Hpke.MaxExportSize)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"An HPKE export must be 1 to {Hpke.MaxExportSize} bytes.");
        }

        byte[] exported = new byte[length];
        Hpke.Export(_schedule.ExporterSecret, exporterContext, exported);
        return exported;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _schedule.Dispose();
            _disposed = true;
        }
    }

    public override string ToString() => GetType().Name;

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The AEAD key of this context.</summary>
    private protected ReadOnlySpan<byte> Key => _schedule.Key;

    /// <summary>ComputeNonce(seq) for the next message; refuses once the sequence number is exhausted.</summary>
    private protected byte[] NextNonce()
    {
        ThrowIfDisposed();

        // RFC 9180 §5.2 caps seq at 2^(8·Nn) − 1; a 64-bit counter reaches its own cap first, which is the one enforced.
        if (SequenceNumber == ulong.MaxValue)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MessageLimitReached, "The HPKE context has used every sequence number.");
        }

        return ComputeNonce(_schedule.BaseNonce, SequenceNumber);
    }

    /// <summary>IncrementSeq: called only after the AEAD operation succeeded.</summary>
    private protected void Advance() => SequenceNumber++;

    /// <summary>ComputeNonce: base_nonce XOR I2OSP(seq, Nn).</summary>
    private static byte[] ComputeNonce(ReadOnlySpan<byte> baseNonce, ulong sequenceNumber)
    {
        byte[] nonce = new byte[Hpke.NonceSize];
        BinaryPrimitives.WriteUInt64BigEndian(nonce.AsSpan(Hpke.NonceSize - sizeof(ulong)), sequenceNumber);
        for (int i = 0; i < nonce.Length; i++)
        {
            nonce[i] ^= baseNonce[i];
        }

        return nonce;
    }
}

/// <summary>The sender's context: <see cref="Seal"/> encrypts messages in order.</summary>
internal sealed class HpkeSenderContext : HpkeContext
{
    internal HpkeSenderContext(HpkeKeySchedule schedule)
        : base(schedule)
    {
    }

    /// <summary>Encrypts <paramref name="plaintext"/> with the next nonce and returns <c>ciphertext ‖ tag</c>.</summary>
    public byte[] Seal(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        byte[] sealedBytes = Aead.ChaCha20Poly1305.Seal(Key, NextNonce(), plaintext, associatedData);
        Advance();
        return sealedBytes;
    }
}

/// <summary>The recipient's context: <see cref="Open"/> decrypts messages in the order they were sealed.</summary>
internal sealed class HpkeRecipientContext : HpkeContext
{
    internal HpkeRecipientContext(HpkeKeySchedule schedule)
        : base(schedule)
    {
    }

    /// <summary>
    /// Decrypts <paramref name="ciphertext"/> with the next nonce. On failure throws
    /// <see cref="CryptographicFailureException"/> and leaves the sequence number unchanged (RFC 9180 §5.2).
    /// </summary>
    public byte[] Open(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext)
    {
        byte[] plaintext = Aead.ChaCha20Poly1305.Open(Key, NextNonce(), ciphertext, associatedData);
        Advance();
        return plaintext;
    }
}
