using BcEd25519 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;
using BcEd25519PublicKey = Org.BouncyCastle.Crypto.Parameters.Ed25519PublicKeyParameters;

namespace TelehealthMessaging.Crypto;

/// <summary>Ed25519 verification with the strict rules of RFC 8032 §5.1.7.</summary>
internal static class Ed25519
{
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;

    /// <summary>
    /// Returns <see langword="true"/> only for a canonical signature over <paramref name="message"/> by
    /// <paramref name="publicKey"/>. Wrong lengths, S ≥ L, non-canonical or off-curve encodings of R or A and
    /// any other malformed input return <see langword="false"/>; nothing throws for untrusted bytes.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        BcEd25519PublicKey key;
        try
        {
            // BouncyCastle validates the point encoding here (canonical y, on the curve).
            key = new BcEd25519PublicKey(publicKey);
        }
        catch (ArgumentException)
        {
            return false;
        }

        return key.Verify(BcEd25519.Algorithm.Ed25519, ctx: null, message, signature);
    }
}
