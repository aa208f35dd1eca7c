using TelehealthMessaging.Crypto;
using Xunit.Abstractions;

namespace TelehealthMessaging.Tests.Crypto;

public class HkdfAndHmacTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string, string, int, string, string> Rfc5869Vectors => new()
    {
        // RFC 5869 Appendix A (SHA-256 cases): name, IKM, salt, info, L, PRK, OKM.
        {
            "A.1",
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "000102030405060708090a0b0c",
            "f0f1f2f3f4f5f6f7f8f9",
            42,
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        },
        {
            "A.2",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
            "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
            "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
            82,
            "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"
        },
        {
            "A.3",
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "",
            "",
            42,
            "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        },
    };

    [Theory]
    [MemberData(nameof(Rfc5869Vectors))]
    public void Hkdf_matches_rfc_5869_appendix_a(string name, string ikm, string salt, string info, int length, string prk, string okm)
    {
        byte[] extracted = new byte[32];
        HkdfSha256.Extract(Convert.FromHexString(ikm), Convert.FromHexString(salt), extracted);
        Assert.True(Convert.ToHexStringLower(extracted) == prk, $"{name}: PRK");

        byte[] expanded = new byte[length];
        HkdfSha256.Expand(extracted, Convert.FromHexString(info), expanded);
        Assert.True(Convert.ToHexStringLower(expanded) == okm, $"{name}: OKM");

        byte[] derived = new byte[length];
        HkdfSha256.DeriveKey(Convert.FromHexString(ikm), Convert.FromHexString(salt), Convert.FromHexString(info), derived);
        Assert.Equal(expanded, derived);
    }

    [SkippableFact]
    public void Wycheproof_hkdf_sha256_vectors_pass_and_oversize_outputs_are_refused()
    {
        using var file = Wycheproof.Load("hkdf_sha256_test.json");
        var tally = new VectorTally("hkdf_sha256_test.json", output);
        foreach (var (_, test) in file.Vectors())
        {
            int size = test.Int("size");
            byte[] output = new byte[size];
            var ex = Record.Exception(() => HkdfSha256.DeriveKey(test.Bytes("ikm"), test.Bytes("salt"), test.Bytes("info"), output));
            if (test.IsValid)
            {
                tally.Check(ex is null && output.AsSpan().SequenceEqual(test.Bytes("okm")), test.TcId, ex is null ? "the output differs" : $"threw {ex.GetType().Name}");
            }
            else
            {
                // The only invalid vectors ask for more than 255 × 32 bytes (SizeTooLarge).
                tally.Check(ex is ArgumentException && size > HkdfSha256.MaxOutputSize, test.TcId, $"size {size} gave {ex?.GetType().Name ?? "no exception"}");
            }
        }

        tally.AssertAllPassed(minimumRan: 80);
    }

    [SkippableFact]
    public void Wycheproof_hmac_sha256_vectors_pass_for_full_length_tags()
    {
        using var file = Wycheproof.Load("hmac_sha256_test.json");
        var tally = new VectorTally("hmac_sha256_test.json", output);
        foreach (var (group, test) in file.Vectors())
        {
            // Truncated tags are deliberately unsupported (see Truncated_tags_are_refused); those groups are filtered out.
            if (group.GetProperty("tagSize").GetInt32() != 256)
            {
                tally.Skip();
                continue;
            }

            byte[] key = test.Bytes("key");
            byte[] message = test.Bytes("msg");
            byte[] tag = test.Bytes("tag");
            byte[] computed = new byte[HmacSha256.TagSize];
            HmacSha256.Compute(key, message, computed);
            bool verified = HmacSha256.Verify(key, message, tag);
            tally.Check(verified == test.IsValid && computed.AsSpan().SequenceEqual(tag) == test.IsValid, test.TcId,
                $"{test.Result} tag {(verified ? "verified" : "was refused")}");
        }

        tally.AssertAllPassed(minimumRan: 85);
        Assert.True(tally.Skipped >= 85, $"expected the 128-bit tag groups to be filtered out; {tally.Skipped} were.");
    }

    [Fact]
    public void Truncated_tags_are_refused()
    {
        byte[] key = new byte[32];
        byte[] tag = new byte[32];
        HmacSha256.Compute(key, "data"u8, tag);
        Assert.True(HmacSha256.Verify(key, "data"u8, tag));
        Assert.False(HmacSha256.Verify(key, "data"u8, tag.AsSpan(0, 16)));
        Assert.False(HmacSha256.Verify(key, "data"u8, []));
    }

    [Fact]
    public void Hkdf_refuses_empty_and_oversize_outputs_and_short_pseudorandom_keys()
    {
        Assert.Throws<ArgumentException>(() => HkdfSha256.DeriveKey(new byte[32], [], [], []));
        Assert.Throws<ArgumentException>(() => HkdfSha256.Expand(new byte[32], [], new byte[HkdfSha256.MaxOutputSize + 1]));
        Assert.Throws<ArgumentException>(() => HkdfSha256.Expand(new byte[31], [], new byte[32]));
    }
}
