using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

/// <summary>
/// A second implementation of the responder, written from docs/protocol.md alone: fixed byte offsets, the BCL's HKDF,
/// HMAC and AES-GCM, and only the X25519 and ML-KEM wrappers (the BCL has neither). It must open what the SDK sends.
/// </summary>
public sealed class ProtocolTranscriptTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice _alice;
    private readonly SessionTestDevice _bob;

    public ProtocolTranscriptTests()
    {
        _alice = new SessionTestDevice("alice", _time);
        _bob = new SessionTestDevice("bob", _time);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public void Prekey_messages_decrypt_with_an_independent_implementation_of_the_documented_pqxdh_and_ratchet()
    {
        _alice.Initiate(_bob);
        byte[] first = _alice.Encrypt(_bob, "first message");
        byte[] second = _alice.Encrypt(_bob, "second message");

        Assert.Equal("first message", OpenAsResponder(first, expectedNumber: 0));
        Assert.Equal("second message", OpenAsResponder(second, expectedNumber: 1));
    }

    private string OpenAsResponder(byte[] message, uint expectedNumber)
    {
        // Session message and preamble layout (docs: "Ratchet message and prekey message wire format").
        Assert.Equal(1, message[0]);
        Assert.Equal(2, message[1]);
        ReadOnlySpan<byte> m = message;
        ReadOnlySpan<byte> initiatorSigning = m.Slice(2, 32);
        ReadOnlySpan<byte> initiatorAgreement = m.Slice(34, 32);
        ReadOnlySpan<byte> ephemeral = m.Slice(130, 32);
        uint signedId = BinaryPrimitives.ReadUInt32BigEndian(m[162..]);
        Assert.Equal(1, m[166]);
        uint oneTimeId = BinaryPrimitives.ReadUInt32BigEndian(m[167..]);
        uint kemId = BinaryPrimitives.ReadUInt32BigEndian(m[171..]);
        ReadOnlySpan<byte> kemCiphertext = m.Slice(175, 1088);
        ReadOnlySpan<byte> ratchetKey = m.Slice(1263, 32);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(m[1295..]));
        Assert.Equal(expectedNumber, BinaryPrimitives.ReadUInt32BigEndian(m[1299..]));
        int ciphertextLength = (int)BinaryPrimitives.ReadUInt32BigEndian(m[1303..]);
        Assert.Equal(message.Length - 1307, ciphertextLength);

        // PQXDH (docs: "Responder").
        X25519PrivateKey signed = _bob.Prekeys.FindSignedPrekey(signedId)!;
        byte[] ikm = new byte[32 + (4 * 32) + 32];
        ikm.AsSpan(0, 32).Fill(0xFF);
        signed.DeriveSharedSecret(initiatorAgreement, ikm.AsSpan(32, 32));
        _bob.Identity.AgreementKey.DeriveSharedSecret(ephemeral, ikm.AsSpan(64, 32));
        signed.DeriveSharedSecret(ephemeral, ikm.AsSpan(96, 32));
        _bob.Prekeys.FindOneTimePrekey(oneTimeId)!.DeriveSharedSecret(ephemeral, ikm.AsSpan(128, 32));
        _bob.Prekeys.FindKemPrekey(kemId)!.Decapsulate(kemCiphertext, ikm.AsSpan(160, 32));
        byte[] sk = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 32, new byte[32], Encoding.ASCII.GetBytes("TelehealthMessaging_PQXDH_X25519_SHA-256_ML-KEM-768"));

        // First DH ratchet step with the signed prekey as Bob's ratchet key (docs: "Initialization", "KDFs").
        byte[] dh = new byte[32];
        signed.DeriveSharedSecret(ratchetKey, dh);
        byte[] rootOutput = HKDF.DeriveKey(HashAlgorithmName.SHA256, dh, 64, sk, Encoding.ASCII.GetBytes("TelehealthMessaging_Ratchet_v1"));
        byte[] chainKey = rootOutput[32..];
        for (uint i = 0; i < expectedNumber; i++)
        {
            chainKey = HMACSHA256.HashData(chainKey, new byte[] { 0x02 });
        }

        byte[] messageKey = HMACSHA256.HashData(chainKey, new byte[] { 0x01 });
        byte[] keyAndNonce = HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, 44, new byte[32], Encoding.ASCII.GetBytes("TelehealthMessaging_MessageKeys_v1"));

        // AEAD: AES-256-GCM, AD = IK_A.sig ‖ IK_A.dh ‖ IK_B.sig ‖ IK_B.dh ‖ prefix.
        byte[] associatedData = [.. initiatorSigning, .. initiatorAgreement, .. _bob.Identity.PublicKey.SigningKey, .. _bob.Identity.PublicKey.AgreementKey, .. m[..1307]];
        byte[] ciphertext = message[1307..^16];
        byte[] plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(keyAndNonce[..32], 16);
        aes.Decrypt(keyAndNonce[32..], ciphertext, message[^16..], plaintext, associatedData);
        return Encoding.UTF8.GetString(plaintext);
    }
}
