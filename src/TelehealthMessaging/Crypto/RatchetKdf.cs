using System.Security.Cryptography;
using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>The Double Ratchet's three KDFs, as the Signal specification recommends them (§5.2), with AES-256-GCM.</summary>
internal static class RatchetKdf
{
    public const int KeySize = 32;

    public static readonly byte[] RootInfo = Encoding.ASCII.GetBytes("TelehealthMessaging_Ratchet_v1");
    public static readonly byte[] MessageKeyInfo = Encoding.ASCII.GetBytes("TelehealthMessaging_MessageKeys_v1");

    private static readonly byte[] MessageKeyConstant = [0x01];
    private static readonly byte[] ChainKeyConstant = [0x02];

    /// <summary>KDF_RK: HKDF-SHA256(salt = root key, IKM = DH output, info = RootInfo, L = 64) → new root key ‖ chain key.</summary>
    public static void Root(byte[] rootKey, ReadOnlySpan<byte> dhOutput, out byte[] newRootKey, out byte[] chainKey)
    {
        Span<byte> output = stackalloc byte[2 * KeySize];
        HkdfSha256.DeriveKey(dhOutput, rootKey, RootInfo, output);
        newRootKey = output[..KeySize].ToArray();
        chainKey = output[KeySize..].ToArray();
        CryptographicOperations.ZeroMemory(output);
    }

    /// <summary>KDF_CK: message key = HMAC-SHA256(chain key, 0x01); next chain key = HMAC-SHA256(chain key, 0x02).</summary>
    public static void Chain(byte[] chainKey, out byte[] nextChainKey, out byte[] messageKey)
    {
        messageKey = new byte[KeySize];
        nextChainKey = new byte[KeySize];
        HmacSha256.Compute(chainKey, MessageKeyConstant, messageKey);
        HmacSha256.Compute(chainKey, ChainKeyConstant, nextChainKey);
    }

    /// <summary>AES-256-GCM key ‖ nonce = HKDF-SHA256(salt = 32 zero bytes, IKM = message key, info = MessageKeyInfo, L = 44).</summary>
    public static void MessageKeys(ReadOnlySpan<byte> messageKey, Span<byte> aeadKey, Span<byte> nonce)
    {
        Span<byte> output = stackalloc byte[Aead.KeySize + Aead.NonceSize];
        Span<byte> salt = stackalloc byte[32];
        salt.Clear();
        HkdfSha256.DeriveKey(messageKey, salt, MessageKeyInfo, output);
        output[..Aead.KeySize].CopyTo(aeadKey);
        output[Aead.KeySize..].CopyTo(nonce);
        CryptographicOperations.ZeroMemory(output);
    }
}
