using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Compliance;

/// <summary>
/// Signs the checkpoints of an <see cref="AuditLog"/> with an Ed25519 key (normally the device's identity key), so
/// that whoever rewrites the stored log without that key is caught by <see cref="AuditLog.VerifyAsync"/>.
/// </summary>
/// <remarks>The private key never passes through this type: <c>sign</c> is a callback into whatever holds it.</remarks>
public sealed class AuditSigner
{
    private readonly byte[] _publicKey;
    private readonly Func<ReadOnlyMemory<byte>, byte[]> _sign;

    /// <summary>Creates a signer.</summary>
    /// <param name="publicKey">The 32-byte Ed25519 public key that verifies the signatures.</param>
    /// <param name="sign">Returns the 64-byte Ed25519 (RFC 8032, pure) signature of its argument.</param>
    /// <exception cref="ArgumentException"><paramref name="publicKey"/> is not 32 bytes.</exception>
    public AuditSigner(ReadOnlyMemory<byte> publicKey, Func<ReadOnlyMemory<byte>, byte[]> sign)
    {
        ArgumentNullException.ThrowIfNull(sign);
        if (publicKey.Length != Ed25519.PublicKeySize)
        {
            throw new ArgumentException($"An Ed25519 public key is {Ed25519.PublicKeySize} bytes.", nameof(publicKey));
        }

        _publicKey = publicKey.ToArray();
        _sign = sign;
    }

    /// <summary>The public key that verifies this signer's signatures.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>Names the type only.</summary>
    /// <returns><c>AuditSigner</c>.</returns>
    public override string ToString() => nameof(AuditSigner);

    // The device identity's signing key, for the client's own log.
    internal static AuditSigner For(DeviceIdentity identity) =>
        new(identity.PublicKey.SigningKey.ToArray(), message => identity.Sign(message.Span));

    internal byte[] Sign(byte[] message)
    {
        byte[] signature = _sign(message);
        if (signature is null || signature.Length != Ed25519.SignatureSize || !Ed25519.Verify(_publicKey, message, signature))
        {
            // A signer that returns a wrong signature would make every later verification fail: refuse at once.
            throw new TelehealthException(TelehealthErrorCode.IntegrityCheckFailed, "The audit signer returned a signature that its public key does not verify.");
        }

        return signature;
    }
}
