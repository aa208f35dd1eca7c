using System.Text;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

public sealed class EnvelopeFormatTests
{
    [Theory]
    [InlineData(0, 512)]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1024, 1024)]
    [InlineData(1025, 2048)]
    [InlineData(4097, 8192)]
    [InlineData(1024 * 1024, 1024 * 1024)]
    [InlineData((1024 * 1024) + 1, 2 * 1024 * 1024)]
    [InlineData(2 * 1024 * 1024, 2 * 1024 * 1024)]
    public void Content_is_padded_to_the_smallest_bucket_that_holds_it(int length, int bucket)
    {
        Assert.Equal(bucket, EnvelopePadding.BucketFor(length));
        Assert.True(EnvelopePadding.IsBucket(bucket));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData((2 * 1024 * 1024) + 1)]
    public void Content_beyond_the_largest_bucket_is_refused(int length) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvelopePadding.BucketFor(length));

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    [InlineData(511)]
    [InlineData(513)]
    [InlineData(1536)]
    [InlineData(4 * 1024 * 1024)]
    public void Lengths_that_are_not_buckets_are_recognised(int length) => Assert.False(EnvelopePadding.IsBucket(length));

    [Fact]
    public void The_largest_session_message_fits_the_largest_bucket()
    {
        Assert.True(1 + SenderCertificate.MaxEncodedSize + 4 + SessionMessage.MaxEncodedSize <= EnvelopePadding.MaxBucketSize);
    }

    [Fact]
    public void Content_parsing_refuses_non_zero_padding_wrong_lengths_and_unknown_versions()
    {
        using DeviceIdentity identity = DeviceIdentity.Generate();
        SenderCertificate certificate = SenderCertificate.Create(new UserId("patient-1"), new DeviceId("phone"), identity);
        byte[] padded = EnvelopeContent.EncodePadded(certificate, new byte[40]);
        Assert.Equal(512, padded.Length);
        EnvelopeContent parsed = EnvelopeContent.Parse(padded);
        Assert.Equal(40, parsed.Message.Length);
        Assert.Equal(certificate.Encode(), parsed.Certificate.Encode());

        byte[] dirtyPadding = (byte[])padded.Clone();
        dirtyPadding[^1] = 0x80;
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => EnvelopeContent.Parse(dirtyPadding)).Reason);
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => EnvelopeContent.Parse(padded.AsSpan(0, 511))).Reason);

        // Padding beyond the smallest bucket that holds the content is not the canonical encoding.
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => EnvelopeContent.Parse((byte[])[.. padded, .. new byte[512]])).Reason);
        byte[] version = (byte[])padded.Clone();
        version[0] = 2;
        Assert.Equal(CryptographicFailureReason.UnsupportedAlgorithm, Assert.Throws<CryptographicFailureException>(() => EnvelopeContent.Parse(version)).Reason);
    }

    [Fact]
    public void The_cleartext_header_is_version_recipient_id_and_encapsulated_key_only()
    {
        using var key = X25519PrivateKey.Generate();
        byte[] content = new byte[512];
        content[0] = 1;
        byte[] envelope = SealedEnvelope.Seal(new DeviceId("device.A-1"), key.PublicKey, content);

        Assert.Equal(1, envelope[0]);
        Assert.Equal(10, envelope[1]);
        Assert.Equal("device.A-1", Encoding.ASCII.GetString(envelope, 2, 10));
        Assert.Equal(2 + 10 + 32 + 512 + 16, envelope.Length);
        SealedEnvelope parsed = SealedEnvelope.Parse(envelope);
        Assert.Equal(envelope.AsSpan(0, 2 + 10 + 32).ToArray(), parsed.Header.ToArray());
        Assert.Equal(content, parsed.Open([key]));

        // The info string is part of the key schedule: opening with plain HPKE and another info fails.
        Assert.Throws<CryptographicFailureException>(() => Hpke.Open(envelope.AsSpan(12, 32), key, "other"u8, parsed.Header, envelope.AsSpan(44)));
        Assert.Equal(content, Hpke.Open(envelope.AsSpan(12, 32), key, "TelehealthMessaging_SealedEnvelope_v1"u8, parsed.Header, envelope.AsSpan(44)));
    }

    [Theory]
    [InlineData(new byte[] { 2, 1, (byte)'a' }, "UnsupportedAlgorithm")]
    [InlineData(new byte[] { 1, 0 }, "MalformedEncoding")]
    [InlineData(new byte[] { 1, 65 }, "MalformedEncoding")]
    [InlineData(new byte[] { 1, 1, (byte)'/' }, "MalformedEncoding")]
    [InlineData(new byte[] { 1, 1, 0xC3 }, "MalformedEncoding")]
    [InlineData(new byte[] { 1, 3, (byte)'a' }, "MalformedEncoding")]
    public void Malformed_headers_are_refused(byte[] prefix, string reason)
    {
        byte[] envelope = [.. prefix, .. new byte[32 + 512 + 16]];
        Assert.Equal(Enum.Parse<CryptographicFailureReason>(reason), Assert.Throws<CryptographicFailureException>(() => SealedEnvelope.Parse(envelope)).Reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(511 + 16)]
    [InlineData(513 + 16)]
    public void Ciphertexts_that_are_not_a_bucket_plus_tag_are_refused(int ciphertextLength)
    {
        byte[] envelope = [1, 1, (byte)'a', .. new byte[32 + ciphertextLength]];
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => SealedEnvelope.Parse(envelope)).Reason);
    }

    [Fact]
    public void Oversize_envelopes_are_refused_before_parsing()
    {
        byte[] envelope = new byte[SealedEnvelope.MaxEncodedSize + 1];
        envelope[0] = 1;
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => SealedEnvelope.Parse(envelope)).Reason);
    }

    [Fact]
    public void Envelope_keys_are_signed_for_their_device_and_survive_export()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        using DeviceIdentity identity = DeviceIdentity.Generate();
        using DeviceIdentity other = DeviceIdentity.Generate();
        var device = new DeviceId("phone");
        using DeviceEnvelopeKeys keys = DeviceEnvelopeKeys.Create(identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time);

        SignedEnvelopeKey published = SignedEnvelopeKey.Parse(keys.Current.Encode());
        published.Verify(identity.PublicKey, device);
        Assert.Equal(CryptographicFailureReason.InvalidSignature, Assert.Throws<CryptographicFailureException>(() => published.Verify(identity.PublicKey, new DeviceId("tablet"))).Reason);
        Assert.Equal(CryptographicFailureReason.InvalidSignature, Assert.Throws<CryptographicFailureException>(() => published.Verify(other.PublicKey, device)).Reason);

        time.Advance(TimeSpan.FromDays(30));
        Assert.True(keys.Refresh());
        Assert.False(keys.Refresh());
        byte[] exported = keys.Export();
        using DeviceEnvelopeKeys restored = DeviceEnvelopeKeys.Import(exported, identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time);
        Assert.Equal(exported, restored.Export());
        Assert.Equal(2, restored.Count);

        Assert.Equal(CryptographicFailureReason.InvalidSignature, Assert.Throws<CryptographicFailureException>(() => DeviceEnvelopeKeys.Import(exported, other, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time)).Reason);
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, Assert.Throws<CryptographicFailureException>(() => DeviceEnvelopeKeys.Import([.. exported, 0], identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time)).Reason);
        for (int length = 0; length < exported.Length; length++)
        {
            Assert.Throws<CryptographicFailureException>(() => DeviceEnvelopeKeys.Import(exported.AsSpan(0, length), identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time));
        }
    }

    [Fact]
    public void A_stored_envelope_private_key_that_does_not_match_its_public_key_is_refused()
    {
        var time = new FakeTimeProvider();
        using DeviceIdentity identity = DeviceIdentity.Generate();
        var device = new DeviceId("phone");
        using DeviceEnvelopeKeys keys = DeviceEnvelopeKeys.Create(identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time);
        byte[] exported = keys.Export();

        // version (1) ‖ next id (4) ‖ count (1) ‖ signed key (109) ‖ private key (32) …
        exported[1 + 4 + 1 + SignedEnvelopeKey.EncodedSize] ^= 0x55;
        Assert.Equal(CryptographicFailureReason.InvalidPrivateKey, Assert.Throws<CryptographicFailureException>(() => DeviceEnvelopeKeys.Import(exported, identity, device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), time)).Reason);
    }
}
