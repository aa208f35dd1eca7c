using System.Text;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests;

public class SealedEnvelopeHeaderTests
{
    private static byte[] Envelope(string recipient, int ciphertextLength = 16, byte version = 1)
    {
        byte[] id = Encoding.ASCII.GetBytes(recipient);
        return [version, (byte)id.Length, .. id, .. new byte[SealedEnvelopeHeader.EncapsulatedKeySize], .. new byte[ciphertextLength]];
    }

    [Fact]
    public void TryParse_reads_the_recipient_and_the_offsets_of_a_version_1_envelope()
    {
        byte[] envelope = Envelope("device-1.a", ciphertextLength: 40);

        Assert.True(SealedEnvelopeHeader.TryParse(envelope, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error));

        Assert.Equal(SealedEnvelopeHeaderError.None, error);
        Assert.Equal(new DeviceId("device-1.a"), header.Recipient);
        Assert.Equal(12, header.EncapsulatedKeyOffset);
        Assert.Equal(44, header.CiphertextOffset);
        Assert.Equal(envelope.Length - 40, header.CiphertextOffset);
    }

    [Fact]
    public void WriteVersion1Prefix_produces_what_TryParse_reads()
    {
        var recipient = DeviceId.New();
        byte[] envelope = [.. SealedEnvelopeHeader.WriteVersion1Prefix(recipient), .. new byte[32 + 16]];

        Assert.True(SealedEnvelopeHeader.TryParse(envelope, out SealedEnvelopeHeader header, out _));
        Assert.Equal(recipient, header.Recipient);
        Assert.Equal(SealedEnvelopeHeader.MinEnvelopeSize + recipient.Value.Length - 1, envelope.Length);
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "empty", [], nameof(SealedEnvelopeHeaderError.Truncated) },
        { "version only", [1], nameof(SealedEnvelopeHeaderError.Truncated) },
        { "version 0", Envelope("abc", version: 0), nameof(SealedEnvelopeHeaderError.UnknownVersion) },
        { "version 2", Envelope("abc", version: 2), nameof(SealedEnvelopeHeaderError.UnknownVersion) },
        { "zero-length recipient", [1, 0, .. new byte[64]], nameof(SealedEnvelopeHeaderError.InvalidRecipientLength) },
        { "recipient longer than 64", [1, 65, .. new byte[200]], nameof(SealedEnvelopeHeaderError.InvalidRecipientLength) },
        { "recipient cut short", [1, 10, (byte)'a', (byte)'b'], nameof(SealedEnvelopeHeaderError.Truncated) },
        { "encapsulated key cut short", Envelope("abc", ciphertextLength: 0)[..20], nameof(SealedEnvelopeHeaderError.Truncated) },
        { "ciphertext shorter than a tag", Envelope("abc", ciphertextLength: 15), nameof(SealedEnvelopeHeaderError.CiphertextTooShort) },
        { "slash in recipient", Envelope("a/b"), nameof(SealedEnvelopeHeaderError.InvalidRecipient) },
        { "space in recipient", Envelope("a b"), nameof(SealedEnvelopeHeaderError.InvalidRecipient) },
        { "non-ASCII recipient", [1, 2, 0xC3, 0xA9, .. new byte[48]], nameof(SealedEnvelopeHeaderError.InvalidRecipient) },
        { "NUL in recipient", [1, 2, (byte)'a', 0, .. new byte[48]], nameof(SealedEnvelopeHeaderError.InvalidRecipient) },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryParse_refuses_malformed_headers_with_a_typed_reason(string _, byte[] envelope, string expected)
    {
        Assert.False(SealedEnvelopeHeader.TryParse(envelope, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error));

        Assert.Equal(expected, error.ToString());
        Assert.Equal(default, header);
    }

    [Fact]
    public void TryParse_never_throws_on_random_bytes()
    {
        var random = new Random(1234);
        for (int i = 0; i < 5000; i++)
        {
            byte[] bytes = new byte[random.Next(0, 120)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(2) == 0)
            {
                bytes[0] = 1;
            }

            bool parsed = SealedEnvelopeHeader.TryParse(bytes, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error);

            Assert.Equal(parsed, error == SealedEnvelopeHeaderError.None);
            if (parsed)
            {
                Assert.True(header.CiphertextOffset + SealedEnvelopeHeader.MinCiphertextSize <= bytes.Length);
            }
        }
    }
}
