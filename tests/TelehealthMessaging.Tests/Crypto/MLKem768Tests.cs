using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;
using TelehealthMessaging.Crypto;
using Xunit.Abstractions;

namespace TelehealthMessaging.Tests.Crypto;

public class MLKem768Tests(ITestOutputHelper output)
{
    /// <summary>
    /// mlkem_768_test.json: each vector gives the 64-byte seed d ‖ z, the expected encapsulation key, a ciphertext and
    /// the shared secret decapsulation must yield (including implicit-rejection secrets for altered ciphertexts).
    /// "invalid" vectors carry a seed or ciphertext of the wrong length, which must be refused.
    /// </summary>
    [SkippableFact]
    public void Wycheproof_mlkem_768_keygen_and_decapsulation_vectors_pass()
    {
        using var file = Wycheproof.Load("mlkem_768_test.json");
        var tally = new VectorTally("mlkem_768_test.json", output);
        foreach (var (_, test) in file.Vectors())
        {
            byte[] seed = test.Bytes("seed");
            if (seed.Length != MLKem768.SeedSize)
            {
                var ex = Record.Exception(() => MLKem768PrivateKey.Import(seed));
                tally.Check(test.IsInvalid && ex is CryptographicFailureException { Reason: CryptographicFailureReason.InvalidPrivateKey },
                    test.TcId, $"a {seed.Length}-byte seed gave {ex?.GetType().Name ?? "no exception"}");
                continue;
            }

            using var key = MLKem768PrivateKey.Import(seed);
            if (test.Has("ek") && !key.EncapsulationKey.SequenceEqual(test.Bytes("ek")))
            {
                tally.Fail(test.TcId, "the encapsulation key derived from the seed differs");
                continue;
            }

            byte[] ciphertext = test.Bytes("c");
            byte[] secret = new byte[MLKem768.SharedSecretSize];
            if (ciphertext.Length != MLKem768.CiphertextSize)
            {
                var ex = Record.Exception(() => key.Decapsulate(ciphertext, secret));
                tally.Check(test.IsInvalid && ex is CryptographicFailureException { Reason: CryptographicFailureReason.InvalidLength },
                    test.TcId, $"a {ciphertext.Length}-byte ciphertext gave {ex?.GetType().Name ?? "no exception"}");
                continue;
            }

            key.Decapsulate(ciphertext, secret);
            tally.Check(test.IsValid && secret.AsSpan().SequenceEqual(test.Bytes("K")), test.TcId, "the decapsulated secret differs");
        }

        tally.AssertAllPassed(minimumRan: 190);
    }

    /// <summary>
    /// mlkem_768_encaps_test.json: "valid" vectors fix the encapsulation randomness m and expect c and K; "invalid"
    /// vectors carry keys of the wrong length or with coefficients ≥ q (ModulusOverflow, "Public key not reduced"),
    /// which the FIPS 203 §7.2 input check must refuse.
    /// </summary>
    [SkippableFact]
    public void Wycheproof_mlkem_768_encapsulation_vectors_pass()
    {
        using var file = Wycheproof.Load("mlkem_768_encaps_test.json");
        var tally = new VectorTally("mlkem_768_encaps_test.json", output);
        foreach (var (_, test) in file.Vectors())
        {
            byte[] ciphertext = new byte[MLKem768.CiphertextSize];
            byte[] secret = new byte[MLKem768.SharedSecretSize];
            var random = new SecureRandom(new FixedRandomGenerator(test.Bytes("m")));
            try
            {
                MLKem768.Encapsulate(test.Bytes("ek"), ciphertext, secret, random);
                tally.Check(test.IsValid && ciphertext.AsSpan().SequenceEqual(test.Bytes("c")) && secret.AsSpan().SequenceEqual(test.Bytes("K")),
                    test.TcId, test.IsValid ? "the ciphertext or secret differs" : "an invalid key was accepted");
            }
            catch (CryptographicFailureException ex) when (ex.Reason == CryptographicFailureReason.InvalidPublicKey)
            {
                tally.Check(test.IsInvalid, test.TcId, "a valid key was refused");
            }
        }

        tally.AssertAllPassed(minimumRan: 260);
    }

    [Fact]
    public void Encapsulation_and_decapsulation_agree_and_an_altered_ciphertext_yields_a_different_secret()
    {
        using var key = MLKem768PrivateKey.Generate();
        byte[] ciphertext = new byte[MLKem768.CiphertextSize];
        byte[] sent = new byte[32];
        MLKem768.Encapsulate(key.EncapsulationKey, ciphertext, sent);

        byte[] received = new byte[32];
        key.Decapsulate(ciphertext, received);
        Assert.Equal(sent, received);

        ciphertext[100] ^= 1;
        key.Decapsulate(ciphertext, received);
        Assert.NotEqual(sent, received);
    }

    [Fact]
    public void Seed_export_and_import_reproduce_the_same_key()
    {
        using var key = MLKem768PrivateKey.Generate();
        byte[] seed = new byte[MLKem768.SeedSize];
        key.ExportSeed(seed);
        using var again = MLKem768PrivateKey.Import(seed);
        Assert.Equal(key.EncapsulationKey.ToArray(), again.EncapsulationKey.ToArray());
        Assert.Equal(MLKem768.EncapsulationKeySize, key.EncapsulationKey.Length);
        Assert.Equal("MLKem768PrivateKey", key.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1183)]
    [InlineData(1185)]
    [InlineData(1568)]
    public void Encapsulation_keys_of_the_wrong_length_are_refused(int length)
    {
        var ex = Assert.Throws<CryptographicFailureException>(() => MLKem768.ValidateEncapsulationKey(new byte[length]));
        Assert.Equal(CryptographicFailureReason.InvalidPublicKey, ex.Reason);
    }

    /// <summary>Returns the given bytes as "randomness" so encapsulation reproduces a known-answer vector.</summary>
    private sealed class FixedRandomGenerator(byte[] bytes) : IRandomGenerator
    {
        private int _offset;

        public void AddSeedMaterial(byte[] seed)
        {
        }

        public void AddSeedMaterial(ReadOnlySpan<byte> seed)
        {
        }

        public void AddSeedMaterial(long seed)
        {
        }

        public void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

        public void NextBytes(byte[] buffer, int start, int len) => NextBytes(buffer.AsSpan(start, len));

        public void NextBytes(Span<byte> output)
        {
            if (_offset + output.Length > bytes.Length)
            {
                throw new InvalidOperationException("The fixed randomness is exhausted.");
            }

            bytes.AsSpan(_offset, output.Length).CopyTo(output);
            _offset += output.Length;
        }
    }
}
