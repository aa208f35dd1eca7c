using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests;

public class RelayRequestSignatureTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);

    [Fact]
    public void Canonical_bytes_are_the_documented_lines_without_a_trailing_line_feed()
    {
        byte[] bytes = RelayRequestSignature.CanonicalBytes("post", "/v1/messages?after=3", 1_764_000_000, "AAAAAAAAAAAAAAAAAAAAAA", RelayRequestSignature.EmptyBodyDigest);

        Assert.Equal(
            "TelehealthMessaging-Relay-v1\nPOST\n/v1/messages?after=3\n1764000000\nAAAAAAAAAAAAAAAAAAAAAA\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void A_signature_verifies_only_for_the_exact_request_it_signed()
    {
        using Ed25519PrivateKey key = Ed25519PrivateKey.Generate();
        string digest = RelayRequestSignature.DigestHex("{\"ids\":[\"m1\"]}"u8);
        RelaySignatureHeaders headers = RelayRequestSignature.Sign(key, new DeviceId("dev-1"), "POST", "/v1/messages/ack", At, digest);
        Assert.True(Base64Url.TryDecode(headers.Signature, out byte[]? signature));
        Assert.True(RelayRequestSignature.TryParseTimestamp(headers.Timestamp, out long timestamp));

        bool Verifies(string method, string path, long time, string nonce, string body) =>
            RelayRequestSignature.Verify(key.PublicKey, method, path, time, nonce, body, signature);

        Assert.True(Verifies("POST", "/v1/messages/ack", timestamp, headers.Nonce, digest));
        Assert.False(Verifies("PUT", "/v1/messages/ack", timestamp, headers.Nonce, digest));
        Assert.False(Verifies("POST", "/v1/messages/ack?x=1", timestamp, headers.Nonce, digest));
        Assert.False(Verifies("POST", "/v1/messages/ack", timestamp + 1, headers.Nonce, digest));
        Assert.False(Verifies("POST", "/v1/messages/ack", timestamp, "BBBBBBBBBBBBBBBBBBBBBB", digest));
        Assert.False(Verifies("POST", "/v1/messages/ack", timestamp, headers.Nonce, RelayRequestSignature.EmptyBodyDigest));
        using Ed25519PrivateKey other = Ed25519PrivateKey.Generate();
        Assert.False(RelayRequestSignature.Verify(other.PublicKey, "POST", "/v1/messages/ack", timestamp, headers.Nonce, digest, signature));
    }

    [Fact]
    public void Sign_produces_well_formed_headers_with_a_fresh_nonce_each_time()
    {
        using Ed25519PrivateKey key = Ed25519PrivateKey.Generate();
        RelaySignatureHeaders first = RelayRequestSignature.Sign(key, new DeviceId("dev-1"), "GET", "/v1/messages", At, RelayRequestSignature.EmptyBodyDigest);
        RelaySignatureHeaders second = RelayRequestSignature.Sign(key, new DeviceId("dev-1"), "GET", "/v1/messages", At, RelayRequestSignature.EmptyBodyDigest);

        Assert.Equal("dev-1", first.Device);
        Assert.Equal("1764000000", first.Timestamp);
        Assert.True(RelayRequestSignature.IsWellFormedNonce(first.Nonce));
        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.Equal(86, first.Signature.Length);
    }

    [Theory]
    [InlineData("1764000000", true)]
    [InlineData("0", true)]
    [InlineData("", false)]
    [InlineData("-5", false)]
    [InlineData("+5", false)]
    [InlineData(" 5", false)]
    [InlineData("1e9", false)]
    [InlineData("17640000000000", false)]
    public void Timestamps_are_plain_decimal_seconds(string text, bool valid) =>
        Assert.Equal(valid, RelayRequestSignature.TryParseTimestamp(text, out _));

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA", true)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB", false)] // non-zero unused bits: not the canonical encoding of 16 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAA", false)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==", false)]
    [InlineData("AAAAAAAAAAAAAAAAAAAA+/", false)]
    [InlineData(null, false)]
    public void Nonces_are_16_bytes_of_canonical_unpadded_base64url(string? nonce, bool valid) =>
        Assert.Equal(valid, RelayRequestSignature.IsWellFormedNonce(nonce));

    [Fact]
    public void Line_feeds_in_signed_components_are_refused()
    {
        Assert.Throws<ArgumentException>(() => RelayRequestSignature.CanonicalBytes("GET", "/v1/a\nb", 1, "n", "d"));
        Assert.False(RelayRequestSignature.Verify(new byte[32], "GET", "/v1/a\nb", 1, "n", "d", new byte[64]));
    }
}
