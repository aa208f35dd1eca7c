using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto;

/// <summary>
/// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode. The values are
/// transcribed from the RFC's appendix text (the cfrg/draft-irtf-cfrg-hpke AUTH48 text, section B.2.1, which the RFC
/// published as A.2.1).
/// </summary>
public class HpkeTests
{
    private static readonly byte[] Info = Convert.FromHexString("4f6465206f6e2061204772656369616e2055726e");
    private static readonly byte[] IkmE = Convert.FromHexString("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b");
    private static readonly byte[] IkmR = Convert.FromHexString("1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df");
    private const string PkEm = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    private const string SkEm = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
    private const string PkRm = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    private const string SkRm = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
    private const string Enc = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    private const string SharedSecret = "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7";
    private const string KeyScheduleContext =
        "00431df6cd95e11ff49d7013563baf7f11588c75a6611ee2a4404a49306ae4cfc5b69c5718a60cc5876c358d3f7fc31ddb598503f67be58ea1e798c0bb19eb9796";
    private const string Secret = "5b9cd775e64b437a2335cf499361b2e0d5e444d5cb41a8a53336d8fe402282c6";
    private const string Key = "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91";
    private const string BaseNonce = "5c4d98150661b848853b547f";
    private const string ExporterSecret = "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922";
    private static readonly byte[] Plaintext = Convert.FromHexString("4265617574792069732074727574682c20747275746820626561757479");

    /// <summary>A.2.1.1 Encryptions: sequence number, aad, nonce, ct.</summary>
    private static readonly (ulong Sequence, string Aad, string Nonce, string Ciphertext)[] Encryptions =
    [
        (0, "436f756e742d30", "5c4d98150661b848853b547f", "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"),
        (1, "436f756e742d31", "5c4d98150661b848853b547e", "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c"),
        (2, "436f756e742d32", "5c4d98150661b848853b547d", "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b"),
        (4, "436f756e742d34", "5c4d98150661b848853b547b", "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16"),
        (255, "436f756e742d323535", "5c4d98150661b848853b5480", "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c"),
        (256, "436f756e742d323536", "5c4d98150661b848853b557f", "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b"),
    ];

    /// <summary>A.2.1.2 Exported Values: exporter_context, L = 32, exported_value.</summary>
    private static readonly (string Context, string Value)[] Exports =
    [
        ("", "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"),
        ("00", "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"),
        ("54657374436f6e74657874", "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"),
    ];

    [Fact]
    public void Derive_key_pair_reproduces_the_rfc_9180_a_2_1_ephemeral_and_recipient_keys()
    {
        using X25519PrivateKey ephemeral = Hpke.DeriveKeyPair(IkmE);
        using X25519PrivateKey recipient = Hpke.DeriveKeyPair(IkmR);
        Assert.Equal(PkEm, Convert.ToHexStringLower(ephemeral.PublicKey));
        Assert.Equal(SkEm, Export(ephemeral));
        Assert.Equal(PkRm, Convert.ToHexStringLower(recipient.PublicKey));
        Assert.Equal(SkRm, Export(recipient));
    }

    [Fact]
    public void Encap_decap_and_key_schedule_reproduce_the_rfc_9180_a_2_1_values()
    {
        using var ephemeral = X25519PrivateKey.Import(Convert.FromHexString(SkEm));
        using var recipient = X25519PrivateKey.Import(Convert.FromHexString(SkRm));

        byte[] senderSecret = new byte[32];
        byte[] enc = Hpke.Encap(Convert.FromHexString(PkRm), ephemeral, senderSecret);
        byte[] recipientSecret = new byte[32];
        Hpke.Decap(enc, recipient, recipientSecret);

        Assert.Equal(Enc, Convert.ToHexStringLower(enc));
        Assert.Equal(SharedSecret, Convert.ToHexStringLower(senderSecret));
        Assert.Equal(SharedSecret, Convert.ToHexStringLower(recipientSecret));

        using HpkeKeySchedule schedule = Hpke.KeySchedule(senderSecret, Info);
        Assert.Equal(KeyScheduleContext, Convert.ToHexStringLower(schedule.KeyScheduleContext));
        Assert.Equal(Secret, Convert.ToHexStringLower(schedule.Secret));
        Assert.Equal(Key, Convert.ToHexStringLower(schedule.Key));
        Assert.Equal(BaseNonce, Convert.ToHexStringLower(schedule.BaseNonce));
        Assert.Equal(ExporterSecret, Convert.ToHexStringLower(schedule.ExporterSecret));
    }

    [Fact]
    public void Sender_context_reproduces_the_rfc_9180_a_2_1_encryptions_and_exports()
    {
        using X25519PrivateKey ephemeral = Hpke.DeriveKeyPair(IkmE);
        using HpkeSenderContext sender = Hpke.SetupBaseS(Convert.FromHexString(PkRm), Info, ephemeral, out byte[] enc);
        Assert.Equal(Enc, Convert.ToHexStringLower(enc));

        // The nonce depends only on the sequence number, so sealing in order reaches sequence numbers 255 and 256;
        // messages between the listed ones use other associated data and are not checked.
        for (ulong sequence = 0; sequence <= 256; sequence++)
        {
            Assert.Equal(sequence, sender.SequenceNumber);
            var vector = Encryptions.SingleOrDefault(e => e.Sequence == sequence);
            if (vector.Ciphertext is null)
            {
                sender.Seal("filler"u8, Plaintext);
                continue;
            }

            byte[] ciphertext = sender.Seal(Convert.FromHexString(vector.Aad), Plaintext);
            Assert.True(Convert.ToHexStringLower(ciphertext) == vector.Ciphertext, $"sequence number {sequence}");

            // The listed nonce with the listed key gives the same ciphertext: the nonce computation matches too.
            byte[] direct = Aead.ChaCha20Poly1305.Seal(Convert.FromHexString(Key), Convert.FromHexString(vector.Nonce), Plaintext, Convert.FromHexString(vector.Aad));
            Assert.Equal(ciphertext, direct);
        }

        foreach (var (context, value) in Exports)
        {
            Assert.Equal(value, Convert.ToHexStringLower(sender.Export(Convert.FromHexString(context), 32)));
        }
    }

    [Fact]
    public void Recipient_context_opens_the_rfc_9180_a_2_1_encryptions_and_exports_the_same_values()
    {
        using var recipientKey = X25519PrivateKey.Import(Convert.FromHexString(SkRm));
        using HpkeRecipientContext recipient = Hpke.SetupBaseR(Convert.FromHexString(Enc), recipientKey, Info);

        // Messages between the listed sequence numbers come from a sender context built from the same vector keys.
        using X25519PrivateKey ephemeral = Hpke.DeriveKeyPair(IkmE);
        using HpkeSenderContext sender = Hpke.SetupBaseS(Convert.FromHexString(PkRm), Info, ephemeral, out _);
        for (ulong sequence = 0; sequence <= 256; sequence++)
        {
            var vector = Encryptions.SingleOrDefault(e => e.Sequence == sequence);
            if (vector.Ciphertext is null)
            {
                Assert.Equal(Plaintext, recipient.Open("filler"u8, sender.Seal("filler"u8, Plaintext)));
                continue;
            }

            sender.Seal([], []);
            Assert.Equal(Plaintext, recipient.Open(Convert.FromHexString(vector.Aad), Convert.FromHexString(vector.Ciphertext)));
        }

        foreach (var (context, value) in Exports)
        {
            Assert.Equal(value, Convert.ToHexStringLower(recipient.Export(Convert.FromHexString(context), 32)));
        }
    }

    [Fact]
    public void Single_shot_seal_and_open_round_trip_with_a_fresh_ephemeral_key_each_time()
    {
        using var recipient = X25519PrivateKey.Generate();
        byte[] message = "BP 182/110 at 08:10"u8.ToArray();

        var (enc1, ct1) = Hpke.Seal(recipient.PublicKey, "envelope"u8, "header"u8, message);
        var (enc2, ct2) = Hpke.Seal(recipient.PublicKey, "envelope"u8, "header"u8, message);

        Assert.NotEqual(enc1, enc2);
        Assert.NotEqual(ct1, ct2);
        Assert.Equal(message.Length + Aead.TagSize, ct1.Length);
        Assert.Equal(message, Hpke.Open(enc1, recipient, "envelope"u8, "header"u8, ct1));
        Assert.Equal(message, Hpke.Open(enc2, recipient, "envelope"u8, "header"u8, ct2));
    }

    public static TheoryData<string> Tamperings => new() { "enc", "ciphertext", "tag", "aad", "info", "recipient" };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void Open_refuses_a_modified_enc_ciphertext_aad_info_or_the_wrong_recipient(string tampered)
    {
        using var recipient = X25519PrivateKey.Generate();
        using var stranger = X25519PrivateKey.Generate();
        var (enc, ciphertext) = Hpke.Seal(recipient.PublicKey, "info"u8, "aad"u8, "secret note"u8);

        byte[] info = "info"u8.ToArray();
        byte[] aad = "aad"u8.ToArray();
        X25519PrivateKey key = recipient;
        switch (tampered)
        {
            case "enc": enc[5] ^= 0x40; break;
            case "ciphertext": ciphertext[0] ^= 0x01; break;
            case "tag": ciphertext[^1] ^= 0x80; break;
            case "aad": aad[0] ^= 0x01; break;
            case "info": info[0] ^= 0x01; break;
            case "recipient": key = stranger; break;
        }

        var ex = Assert.Throws<CryptographicFailureException>(() => Hpke.Open(enc, key, info, aad, ciphertext));
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, ex.Reason);
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
    }

    [Fact]
    public void A_low_order_or_wrong_length_enc_is_refused_at_setup()
    {
        using var recipient = X25519PrivateKey.Generate();

        var lowOrder = Assert.Throws<CryptographicFailureException>(() => Hpke.SetupBaseR(new byte[32], recipient, []));
        Assert.Equal(CryptographicFailureReason.NonContributoryPublicKey, lowOrder.Reason);

        var shortEnc = Assert.Throws<CryptographicFailureException>(() => Hpke.SetupBaseR(new byte[31], recipient, []));
        Assert.Equal(CryptographicFailureReason.InvalidPublicKey, shortEnc.Reason);

        var lowOrderRecipient = Assert.Throws<CryptographicFailureException>(() => Hpke.Seal(new byte[32], [], [], "x"u8));
        Assert.Equal(CryptographicFailureReason.NonContributoryPublicKey, lowOrderRecipient.Reason);
    }

    [Fact]
    public void A_failed_open_does_not_advance_the_sequence_number_and_out_of_order_messages_fail()
    {
        using var recipientKey = X25519PrivateKey.Generate();
        using HpkeSenderContext sender = Hpke.SetupBaseS(recipientKey.PublicKey, [], out byte[] enc);
        using HpkeRecipientContext recipient = Hpke.SetupBaseR(enc, recipientKey, []);
        byte[] first = sender.Seal([], "one"u8);
        byte[] second = sender.Seal([], "two"u8);

        Assert.Throws<CryptographicFailureException>(() => recipient.Open([], second));
        Assert.Equal(0UL, recipient.SequenceNumber);

        byte[] forged = (byte[])first.Clone();
        forged[0] ^= 1;
        Assert.Throws<CryptographicFailureException>(() => recipient.Open([], forged));
        Assert.Equal(0UL, recipient.SequenceNumber);

        Assert.Equal("one"u8.ToArray(), recipient.Open([], first));
        Assert.Equal("two"u8.ToArray(), recipient.Open([], second));
        Assert.Equal(2UL, recipient.SequenceNumber);
    }

    [Fact]
    public void Export_lengths_outside_1_to_8160_are_refused_and_disposed_contexts_cannot_be_used()
    {
        using var recipientKey = X25519PrivateKey.Generate();
        HpkeSenderContext sender = Hpke.SetupBaseS(recipientKey.PublicKey, [], out _);
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Export([], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Export([], Hpke.MaxExportSize + 1));
        Assert.Equal(Hpke.MaxExportSize, sender.Export([], Hpke.MaxExportSize).Length);
        Assert.Equal("HpkeSenderContext", sender.ToString());

        sender.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sender.Seal([], "x"u8));
        Assert.Throws<ObjectDisposedException>(() => sender.Export([], 32));
    }

    private static string Export(X25519PrivateKey key)
    {
        byte[] bytes = new byte[32];
        key.Export(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
