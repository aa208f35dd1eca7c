using TelehealthMessaging.Crypto;
using Xunit.Abstractions;

namespace TelehealthMessaging.Tests.Crypto;

public class X25519Tests(ITestOutputHelper output)
{
    [Theory]
    // RFC 7748 §5.2, the two single-call vectors: scalar, input u-coordinate, output u-coordinate.
    [InlineData(
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData(
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Agreement_matches_rfc_7748_section_5_2(string scalar, string u, string expected)
    {
        using var key = X25519PrivateKey.Import(Convert.FromHexString(scalar));
        byte[] output = new byte[32];
        key.DeriveSharedSecret(Convert.FromHexString(u), output);
        Assert.Equal(expected, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void Iterated_agreement_matches_rfc_7748_section_5_2_after_1_and_1000_iterations()
    {
        byte[] k = new byte[32];
        byte[] u = new byte[32];
        k[0] = 9;
        u[0] = 9;
        byte[] next = new byte[32];
        for (int i = 1; i <= 1000; i++)
        {
            using (var key = X25519PrivateKey.Import(k))
            {
                key.DeriveSharedSecret(u, next);
            }

            u = k;
            k = (byte[])next.Clone();
            if (i == 1)
            {
                Assert.Equal("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", Convert.ToHexStringLower(k));
            }
        }

        Assert.Equal("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", Convert.ToHexStringLower(k));
    }

    [Fact]
    public void Alice_and_bob_derive_the_rfc_7748_section_6_1_keys_and_secret()
    {
        using var alice = X25519PrivateKey.Import(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        using var bob = X25519PrivateKey.Import(Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexStringLower(alice.PublicKey));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Convert.ToHexStringLower(bob.PublicKey));

        byte[] aliceSecret = new byte[32];
        byte[] bobSecret = new byte[32];
        alice.DeriveSharedSecret(bob.PublicKey, aliceSecret);
        bob.DeriveSharedSecret(alice.PublicKey, bobSecret);
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Convert.ToHexStringLower(aliceSecret));
        Assert.Equal(aliceSecret, bobSecret);
    }

    /// <summary>
    /// Decisions per Wycheproof flag: "valid" vectors must produce the listed secret. "acceptable" vectors are accepted
    /// and must match (Twist, NonCanonicalPublic reduced per RFC 7748 §5, SmallPublicKey, SpecialPublicKey,
    /// EdgeCaseShared) unless their listed secret is all zero (ZeroSharedSecret, which every LowOrderPublic vector
    /// carries): those must be refused with NonContributoryPublicKey and leave the output zeroed.
    /// </summary>
    [SkippableFact]
    public void Wycheproof_x25519_vectors_agree_or_are_refused_as_low_order()
    {
        using var file = Wycheproof.Load("x25519_test.json");
        var tally = new VectorTally("x25519_test.json", output);
        int refused = 0;
        foreach (var (_, test) in file.Vectors())
        {
            byte[] expected = test.Bytes("shared");
            bool zero = expected.All(b => b == 0);
            if (test.Flags.Contains("LowOrderPublic") && !zero)
            {
                tally.Fail(test.TcId, "a LowOrderPublic vector whose secret is not zero: the refusal rule would not cover it");
                continue;
            }

            using var key = X25519PrivateKey.Import(test.Bytes("private"));
            byte[] output = new byte[32];
            try
            {
                key.DeriveSharedSecret(test.Bytes("public"), output);
                tally.Check(!zero && output.AsSpan().SequenceEqual(expected), test.TcId,
                    zero ? "an all-zero secret was accepted" : "the secret differs");
            }
            catch (CryptographicFailureException ex) when (ex.Reason == CryptographicFailureReason.NonContributoryPublicKey)
            {
                refused++;
                tally.Check(zero && output.All(b => b == 0), test.TcId, zero ? "the output was not zeroed" : "a contributory key was refused");
            }
        }

        tally.AssertAllPassed(minimumRan: 500);
        Assert.True(refused >= 30, $"expected the ~31 ZeroSharedSecret vectors to be refused; {refused} were.");
        output.WriteLine($"x25519_test.json: {refused} all-zero (low-order) agreements refused, {tally.Ran - refused} agreements matched.");
    }

    [Fact]
    public void Agreement_with_a_low_order_point_is_refused_as_integrity_failure_without_key_bytes_in_the_message()
    {
        using var key = X25519PrivateKey.Generate();
        byte[] output = new byte[32];
        var lowOrder = new byte[32]; // u = 0 has order 1

        var ex = Assert.Throws<CryptographicFailureException>(() => key.DeriveSharedSecret(lowOrder, output));

        Assert.Equal(CryptographicFailureReason.NonContributoryPublicKey, ex.Reason);
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
        Assert.False(ex.IsTransient);
        Assert.All(output, b => Assert.Equal(0, b));
        Assert.DoesNotContain(Convert.ToHexString(key.PublicKey), ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Public_keys_of_the_wrong_length_are_refused(int length)
    {
        using var key = X25519PrivateKey.Generate();
        var ex = Assert.Throws<CryptographicFailureException>(() => key.DeriveSharedSecret(new byte[length], new byte[32]));
        Assert.Equal(CryptographicFailureReason.InvalidPublicKey, ex.Reason);
    }

    [Fact]
    public void Private_keys_of_the_wrong_length_are_refused()
    {
        var ex = Assert.Throws<CryptographicFailureException>(() => X25519PrivateKey.Import(new byte[31]));
        Assert.Equal(CryptographicFailureReason.InvalidPrivateKey, ex.Reason);
    }

    [Fact]
    public void Exported_key_imports_to_the_same_public_key_and_dispose_blocks_further_use()
    {
        var original = X25519PrivateKey.Generate();
        byte[] exported = new byte[32];
        original.Export(exported);
        using var imported = X25519PrivateKey.Import(exported);
        Assert.Equal(original.PublicKey.ToArray(), imported.PublicKey.ToArray());
        Assert.Equal("X25519PrivateKey", original.ToString());

        original.Dispose();
        Assert.Throws<ObjectDisposedException>(() => original.DeriveSharedSecret(imported.PublicKey, new byte[32]));
    }
}
