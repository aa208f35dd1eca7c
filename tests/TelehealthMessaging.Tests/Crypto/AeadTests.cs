using System.Text;
using TelehealthMessaging.Crypto;
using Xunit.Abstractions;

namespace TelehealthMessaging.Tests.Crypto;

public class AeadTests(ITestOutputHelper output)
{
    public static TheoryData<string> ChaChaImplementations => new() { "bcl", "bouncycastle" };

    public static TheoryData<string> AllImplementations => new() { "aes-256-gcm", "bcl", "bouncycastle" };

    [SkippableFact]
    public void Wycheproof_aes_gcm_vectors_pass_for_256_bit_keys_96_bit_nonces_and_128_bit_tags()
    {
        using var file = Wycheproof.Load("aes_gcm_test.json");
        var tally = new VectorTally("aes_gcm_test.json", output);
        foreach (var (group, test) in file.Vectors())
        {
            // AesGcm here is used only with the protocol's sizes; other key and IV sizes are out of scope, not failures.
            if (group.GetProperty("keySize").GetInt32() != 256 || group.GetProperty("ivSize").GetInt32() != 96 || group.GetProperty("tagSize").GetInt32() != 128)
            {
                tally.Skip();
                continue;
            }

            CheckVector(Aead.Aes256Gcm, test, tally);
        }

        tally.AssertAllPassed(minimumRan: 60);
        Assert.True(tally.Skipped > 200, $"expected the other key/IV sizes to be filtered out; {tally.Skipped} were.");
    }

    [SkippableTheory]
    [MemberData(nameof(ChaChaImplementations))]
    public void Wycheproof_chacha20_poly1305_vectors_pass(string implementation)
    {
        Aead aead = ChaCha(implementation);
        using var file = Wycheproof.Load("chacha20_poly1305_test.json");
        var tally = new VectorTally($"chacha20_poly1305_test.json ({implementation})", output);
        foreach (var (group, test) in file.Vectors())
        {
            if (group.GetProperty("ivSize").GetInt32() != 96)
            {
                // InvalidNonceSize vectors: the fixed 12-byte nonce makes any other size a programming error.
                var ex = Record.Exception(() => aead.Open(test.Bytes("key"), test.Bytes("iv"), [.. test.Bytes("ct"), .. test.Bytes("tag")], test.Bytes("aad")));
                tally.Check(test.IsInvalid && ex is ArgumentException, test.TcId, "a nonce of the wrong size was not refused");
                continue;
            }

            CheckVector(aead, test, tally);
        }

        tally.AssertAllPassed(minimumRan: 320);
    }

    [SkippableTheory]
    [MemberData(nameof(ChaChaImplementations))]
    public void Chacha20_poly1305_matches_the_rfc_8439_section_2_8_2_example(string implementation)
    {
        Aead aead = ChaCha(implementation);
        byte[] key = Convert.FromHexString("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        byte[] nonce = Convert.FromHexString("070000004041424344454647");
        byte[] aad = Convert.FromHexString("50515253c0c1c2c3c4c5c6c7");
        byte[] plaintext = Encoding.ASCII.GetBytes("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
        const string Ciphertext =
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
            "3ff4def08e4b7a9de576d26586cec64b6116";
        const string Tag = "1ae10b594f09e26a7e902ecbd0600691";

        byte[] sealedBytes = aead.Seal(key, nonce, plaintext, aad);

        Assert.Equal(Ciphertext + Tag, Convert.ToHexStringLower(sealedBytes));
        Assert.Equal(plaintext, aead.Open(key, nonce, sealedBytes, aad));
    }

    [SkippableTheory]
    [MemberData(nameof(AllImplementations))]
    public void A_failed_open_zeroes_the_destination_and_throws_one_typed_failure(string implementation)
    {
        Aead aead = implementation == "aes-256-gcm" ? Aead.Aes256Gcm : ChaCha(implementation);
        byte[] key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] nonce = new byte[12];
        byte[] plaintext = Encoding.UTF8.GetBytes("Patient reports chest pain since Tuesday; please call back before noon.");
        byte[] sealedBytes = aead.Seal(key, nonce, plaintext, "header"u8);

        // Alter the ciphertext, the tag and the associated data in turn.
        foreach (var (ciphertext, aad) in new[]
        {
            (Flip(sealedBytes, 3), "header"u8.ToArray()),
            (Flip(sealedBytes, sealedBytes.Length - 1), "header"u8.ToArray()),
            (sealedBytes, "headeR"u8.ToArray()),
        })
        {
            byte[] destination = Enumerable.Repeat((byte)0xAA, plaintext.Length).ToArray();
            var ex = Assert.Throws<CryptographicFailureException>(() => aead.Open(key, nonce, ciphertext, aad, destination));
            Assert.Equal(CryptographicFailureReason.AuthenticationFailed, ex.Reason);
            Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
            Assert.All(destination, b => Assert.Equal(0, b));
            Assert.DoesNotContain("chest", ex.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(AllImplementations))]
    public void A_ciphertext_shorter_than_the_tag_is_an_authentication_failure(string implementation)
    {
        Aead aead = implementation == "aes-256-gcm" ? Aead.Aes256Gcm : ChaCha(implementation);
        var ex = Assert.Throws<CryptographicFailureException>(() => aead.Open(new byte[32], new byte[12], new byte[15], []));
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, ex.Reason);
    }

    [Fact]
    public void Wrong_key_nonce_or_destination_sizes_are_programming_errors()
    {
        Assert.Throws<ArgumentException>(() => Aead.Aes256Gcm.Seal(new byte[16], new byte[12], [], []));
        Assert.Throws<ArgumentException>(() => Aead.ChaCha20Poly1305.Seal(new byte[32], new byte[24], [], []));
        Assert.Throws<ArgumentException>(() => Aead.ChaCha20Poly1305.Seal(new byte[32], new byte[12], new byte[4], [], new byte[4]));
        Assert.Throws<ArgumentException>(() => Aead.ChaCha20Poly1305.Open(new byte[32], new byte[12], new byte[20], [], new byte[5]));
    }

    private static void CheckVector(Aead aead, Wycheproof.Vector test, VectorTally tally)
    {
        byte[] key = test.Bytes("key");
        byte[] nonce = test.Bytes("iv");
        byte[] aad = test.Bytes("aad");
        byte[] message = test.Bytes("msg");
        byte[] sealedBytes = [.. test.Bytes("ct"), .. test.Bytes("tag")];
        byte[] destination = new byte[sealedBytes.Length - Aead.TagSize];
        try
        {
            aead.Open(key, nonce, sealedBytes, aad, destination);
            tally.Check(test.IsValid && destination.AsSpan().SequenceEqual(message) && aead.Seal(key, nonce, message, aad).AsSpan().SequenceEqual(sealedBytes),
                test.TcId, test.IsValid ? "the plaintext or ciphertext differs" : "an invalid ciphertext opened");
        }
        catch (CryptographicFailureException ex) when (ex.Reason == CryptographicFailureReason.AuthenticationFailed)
        {
            tally.Check(test.IsInvalid && destination.All(b => b == 0), test.TcId, test.IsInvalid ? "the destination was not zeroed" : "a valid ciphertext was refused");
        }
    }

    private static Aead ChaCha(string implementation)
    {
        if (implementation == "bcl")
        {
            Skip.IfNot(System.Security.Cryptography.ChaCha20Poly1305.IsSupported, "The BCL's ChaCha20Poly1305 is not supported on this platform.");
            return Aead.ChaCha20Poly1305Bcl;
        }

        return Aead.ChaCha20Poly1305BouncyCastle;
    }

    private static byte[] Flip(byte[] value, int index)
    {
        byte[] copy = (byte[])value.Clone();
        copy[index] ^= 0x01;
        return copy;
    }
}
