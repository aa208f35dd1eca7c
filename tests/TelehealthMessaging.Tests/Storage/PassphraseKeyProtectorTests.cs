using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Storage;

public class PassphraseKeyProtectorTests
{
    // libargon2 reference tests (phc-winner-argon2 src/test.c): Argon2id v1.3, password "password", salt "somesalt".
    // The 64 MiB vector from the same file (09316115…) also passes but takes seconds with BouncyCastle, so it is left out.
    [Theory]
    [InlineData(256, 2, 1, "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe")]
    [InlineData(256, 2, 2, "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037")]
    public void Argon2id_matches_the_reference_implementation(int memoryKiB, int iterations, int parallelism, string expectedHex)
    {
        byte[] key = PassphraseKeyProtector.DeriveKey(Encoding.ASCII.GetBytes("password"), Encoding.ASCII.GetBytes("somesalt"), memoryKiB, iterations, parallelism);

        Assert.Equal(Convert.FromHexString(expectedHex), key);
    }

    [Fact]
    public async Task Wrap_then_unwrap_returns_the_key()
    {
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        byte[] key = RandomNumberGenerator.GetBytes(32);

        byte[] wrapped = await protector.WrapKeyAsync(key);

        Assert.Equal(key, await protector.UnwrapKeyAsync(wrapped));
        Assert.Equal(-1, wrapped.AsSpan().IndexOf(key));
    }

    [Fact]
    public async Task The_blob_records_version_parameters_and_a_fresh_salt()
    {
        using var protector = new PassphraseKeyProtector("pass", new PassphraseKeyProtectorOptions { MemoryKiB = 128, Iterations = 2, Parallelism = 2 });
        byte[] key = RandomNumberGenerator.GetBytes(32);

        byte[] first = await protector.WrapKeyAsync(key);
        byte[] second = await protector.WrapKeyAsync(key);

        Assert.Equal(1 + 12 + 16 + 12 + 32 + 16, first.Length);
        Assert.Equal(1, first[0]);
        Assert.Equal(128u, BinaryPrimitives.ReadUInt32BigEndian(first.AsSpan(1)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(first.AsSpan(5)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(first.AsSpan(9)));
        Assert.NotEqual(first.AsSpan(13, 16).ToArray(), second.AsSpan(13, 16).ToArray());
    }

    [Fact]
    public async Task A_wrong_passphrase_fails_authentication()
    {
        using PassphraseKeyProtector right = StoreFixtures.Protector("right");
        using PassphraseKeyProtector wrong = StoreFixtures.Protector("wrong");
        byte[] wrapped = await right.WrapKeyAsync(RandomNumberGenerator.GetBytes(32));

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(async () => await wrong.UnwrapKeyAsync(wrapped));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
        Assert.DoesNotContain("right", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_asking_for_more_memory_or_passes_than_allowed_is_refused_before_deriving()
    {
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        byte[] wrapped = await protector.WrapKeyAsync(RandomNumberGenerator.GetBytes(32));

        byte[] hugeMemory = (byte[])wrapped.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(hugeMemory.AsSpan(1), uint.MaxValue);
        byte[] manyPasses = (byte[])wrapped.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(manyPasses.AsSpan(5), 1000);
        byte[] noLanes = (byte[])wrapped.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(noLanes.AsSpan(9), 0);

        foreach (byte[] altered in new[] { hugeMemory, manyPasses, noLanes })
        {
            var failure = await Assert.ThrowsAsync<CryptographicFailureException>(async () => await protector.UnwrapKeyAsync(altered));
            Assert.Equal(CryptographicFailureReason.MalformedEncoding, failure.Reason);
        }
    }

    [Fact]
    public async Task Altered_parameters_within_range_fail_authentication()
    {
        using PassphraseKeyProtector protector = StoreFixtures.Protector();
        byte[] wrapped = await protector.WrapKeyAsync(RandomNumberGenerator.GetBytes(32));
        BinaryPrimitives.WriteUInt32BigEndian(wrapped.AsSpan(5), 2);

        var failure = await Assert.ThrowsAsync<CryptographicFailureException>(async () => await protector.UnwrapKeyAsync(wrapped));

        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, failure.Reason);
    }

    [Fact]
    public void Defaults_are_64_MiB_three_passes_one_lane()
    {
        var options = new PassphraseKeyProtectorOptions();

        Assert.Equal(65536, options.MemoryKiB);
        Assert.Equal(3, options.Iterations);
        Assert.Equal(1, options.Parallelism);
        using var protector = new PassphraseKeyProtector("passphrase");
        Assert.Equal("PassphraseKeyProtector(Argon2id m=65536 KiB, t=3, p=1)", protector.ToString());
    }

    [Fact]
    public void Bad_passphrase_or_options_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PassphraseKeyProtector(string.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PassphraseKeyProtector("p", new PassphraseKeyProtectorOptions { Iterations = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PassphraseKeyProtector("p", new PassphraseKeyProtectorOptions { Parallelism = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PassphraseKeyProtector("p", new PassphraseKeyProtectorOptions { MemoryKiB = 8, Parallelism = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PassphraseKeyProtector("p", new PassphraseKeyProtectorOptions { MemoryKiB = 2048, MaxMemoryKiB = 1024 }));
    }

    [Fact]
    public async Task A_disposed_protector_refuses_to_wrap()
    {
        PassphraseKeyProtector protector = StoreFixtures.Protector();
        protector.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await protector.WrapKeyAsync(new byte[32]));
    }
}
