using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

public sealed class PrekeyBundleTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
    private readonly SessionTestDevice _bob;

    public PrekeyBundleTests() => _bob = new SessionTestDevice("bob", _time);

    public void Dispose() => _bob.Dispose();

    [Fact]
    public void Bundle_round_trips_through_its_encoding_and_verifies()
    {
        PrekeyBundle bundle = _bob.Prekeys.CreateBundle();
        PrekeyBundle parsed = PrekeyBundle.Parse(bundle.Encode());

        parsed.Verify();
        Assert.Equal(bundle.Encode(), parsed.Encode());
        Assert.Equal(bundle.Identity, parsed.Identity);
        Assert.Equal(PrekeyKind.OneTimeMLKem768, parsed.KemPrekey.Kind);
        Assert.NotNull(parsed.OneTimePrekey);
    }

    [Fact]
    public void Bundle_falls_back_to_the_last_resort_kem_prekey_and_no_one_time_prekey()
    {
        PrekeyBundle bundle = _bob.Prekeys.CreateBundle(kemPrekeyId: _bob.Prekeys.CurrentLastResortPrekey.Id);
        var withoutOneTime = new PrekeyBundle(bundle.Identity, bundle.SignedPrekey, null, bundle.KemPrekey);

        PrekeyBundle parsed = PrekeyBundle.Parse(withoutOneTime.Encode());
        parsed.Verify();
        Assert.Null(parsed.OneTimePrekey);
        Assert.Equal(PrekeyKind.LastResortMLKem768, parsed.KemPrekey.Kind);
    }

    /// <summary>Flips one bit in each signature field and in each signed key; every case must be refused.</summary>
    [Theory]
    [InlineData("identity.signature")]
    [InlineData("identity.agreementKey")]
    [InlineData("signed.signature")]
    [InlineData("signed.publicKey")]
    [InlineData("signed.id")]
    [InlineData("signed.createdAt")]
    [InlineData("oneTime.signature")]
    [InlineData("oneTime.publicKey")]
    [InlineData("kem.signature")]
    [InlineData("kem.id")]
    public void Verify_refuses_a_bundle_with_any_altered_signed_field(string field)
    {
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        PrekeyBundle bad = field switch
        {
            "identity.signature" => With(good, identity: new IdentityKey(good.Identity.SigningKey, good.Identity.AgreementKey, Flip(good.Identity.BindingSignature))),
            "identity.agreementKey" => With(good, identity: new IdentityKey(good.Identity.SigningKey, Flip(good.Identity.AgreementKey), good.Identity.BindingSignature)),
            "signed.signature" => With(good, signed: Alter(good.SignedPrekey, signature: Flip(good.SignedPrekey.Signature))),
            "signed.publicKey" => With(good, signed: Alter(good.SignedPrekey, publicKey: Flip(good.SignedPrekey.PublicKey))),
            "signed.id" => With(good, signed: Alter(good.SignedPrekey, id: good.SignedPrekey.Id + 1)),
            "signed.createdAt" => With(good, signed: Alter(good.SignedPrekey, createdAt: good.SignedPrekey.CreatedAt + 1)),
            "oneTime.signature" => With(good, oneTime: Alter(good.OneTimePrekey!, signature: Flip(good.OneTimePrekey!.Signature))),
            "oneTime.publicKey" => With(good, oneTime: Alter(good.OneTimePrekey!, publicKey: Flip(good.OneTimePrekey!.PublicKey))),
            "kem.signature" => With(good, kem: Alter(good.KemPrekey, signature: Flip(good.KemPrekey.Signature))),
            "kem.id" => With(good, kem: Alter(good.KemPrekey, id: good.KemPrekey.Id + 1)),
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        AssertRefused(bad, CryptographicFailureReason.InvalidSignature);
    }

    [Fact]
    public void Verify_refuses_a_prekey_signed_by_another_identity()
    {
        using DeviceIdentity mallory = DeviceIdentity.Generate();
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        PublicPrekey foreign = PublicPrekey.Create(mallory, PrekeyKind.SignedX25519, good.SignedPrekey.Id, good.SignedPrekey.CreatedAt, good.SignedPrekey.PublicKey);

        AssertRefused(With(good, signed: foreign), CryptographicFailureReason.InvalidSignature);
    }

    [Fact]
    public void Verify_refuses_a_prekey_in_the_wrong_role_even_when_correctly_signed()
    {
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        AssertRefused(With(good, signed: good.OneTimePrekey), CryptographicFailureReason.UnsupportedAlgorithm);
        AssertRefused(With(good, kem: good.SignedPrekey), CryptographicFailureReason.UnsupportedAlgorithm);
    }

    [Theory]
    [InlineData("signed", 31)]
    [InlineData("signed", 33)]
    [InlineData("oneTime", 0)]
    [InlineData("kem", 1183)]
    [InlineData("kem", 1185)]
    public void Verify_refuses_keys_of_the_wrong_length(string which, int length)
    {
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        PrekeyBundle bad = which switch
        {
            "signed" => With(good, signed: Alter(good.SignedPrekey, publicKey: new byte[length])),
            "oneTime" => With(good, oneTime: Alter(good.OneTimePrekey!, publicKey: new byte[length])),
            _ => With(good, kem: Alter(good.KemPrekey, publicKey: new byte[length])),
        };

        AssertRefused(bad, CryptographicFailureReason.InvalidPublicKey);
    }

    [Fact]
    public void Verify_refuses_a_signature_of_the_wrong_length_and_an_unreduced_kem_key()
    {
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        AssertRefused(With(good, signed: Alter(good.SignedPrekey, signature: new byte[63])), CryptographicFailureReason.InvalidLength);
        AssertRefused(With(good, kem: Alter(good.KemPrekey, publicKey: Enumerable.Repeat((byte)0xFF, MLKem768.EncapsulationKeySize).ToArray())), CryptographicFailureReason.InvalidPublicKey);
    }

    [Theory]
    [InlineData("signed", (byte)0x02)]
    [InlineData("signed", (byte)0x7F)]
    [InlineData("kem", (byte)0x01)]
    [InlineData("kem", (byte)0x00)]
    public void Verify_refuses_unknown_or_mismatched_algorithm_ids(string which, byte algorithm)
    {
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        PublicPrekey original = which == "signed" ? good.SignedPrekey : good.KemPrekey;
        var altered = new PublicPrekey(original.Kind, algorithm, original.Id, original.CreatedAt, original.PublicKey, original.Signature);
        AssertRefused(which == "signed" ? With(good, signed: altered) : With(good, kem: altered), CryptographicFailureReason.UnsupportedAlgorithm);
    }

    [Fact]
    public void Parse_refuses_unknown_versions_identity_algorithms_and_flags()
    {
        byte[] encoded = _bob.Prekeys.CreateBundle().Encode();
        AssertParseRefused(Patch(encoded, 0, 2), CryptographicFailureReason.UnsupportedAlgorithm);
        AssertParseRefused(Patch(encoded, 1, 9), CryptographicFailureReason.UnsupportedAlgorithm);
        int flagOffset = 2 + IdentityKey.EncodedSize + 1 + 1 + 4 + 8 + 4 + 32 + 4 + 64;
        Assert.Equal(1, encoded[flagOffset]);
        AssertParseRefused(Patch(encoded, flagOffset, 2), CryptographicFailureReason.MalformedEncoding);
    }

    [Fact]
    public void Parse_refuses_every_truncation_and_trailing_bytes()
    {
        byte[] encoded = _bob.Prekeys.CreateBundle().Encode();
        for (int length = 0; length < encoded.Length; length++)
        {
            AssertParseRefused(encoded[..length], CryptographicFailureReason.MalformedEncoding);
        }

        AssertParseRefused([.. encoded, 0], CryptographicFailureReason.MalformedEncoding);
        AssertParseRefused(new byte[PrekeyBundle.MaxEncodedSize + 1], CryptographicFailureReason.MalformedEncoding);
    }

    [Fact]
    public void Initiating_from_a_bad_bundle_is_refused_before_any_session_exists()
    {
        using var alice = new SessionTestDevice("alice", _time);
        PrekeyBundle good = _bob.Prekeys.CreateBundle();
        PrekeyBundle bad = With(good, signed: Alter(good.SignedPrekey, signature: Flip(good.SignedPrekey.Signature)));
        PeerDeviceSessions sessions = alice.SessionsWith(_bob);

        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => sessions.Initiate(bad));
        Assert.Equal(CryptographicFailureReason.InvalidSignature, ex.Reason);
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
        Assert.False(sessions.HasActiveSession);
    }

    [Fact]
    public void Initiating_from_another_identitys_valid_bundle_is_refused()
    {
        using var alice = new SessionTestDevice("alice", _time);
        using var mallory = new SessionTestDevice("mallory", _time);
        PeerDeviceSessions sessions = alice.SessionsWith(_bob);

        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => sessions.Initiate(mallory.Prekeys.CreateBundle()));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, ex.Reason);
    }

    [Fact]
    public void Refresh_rotates_the_signed_prekey_and_keeps_the_old_one_for_the_grace_period()
    {
        var options = new PrekeyOptions { SignedPrekeyRotationInterval = TimeSpan.FromDays(7), ReplacedPrekeyGracePeriod = TimeSpan.FromDays(14) };
        using DeviceIdentity identity = DeviceIdentity.Generate();
        using var prekeys = DevicePrekeys.Create(identity, options, _time);
        uint first = prekeys.CurrentSignedPrekey.Id;

        _time.Advance(TimeSpan.FromDays(6));
        Assert.False(prekeys.Refresh());
        Assert.Equal(first, prekeys.CurrentSignedPrekey.Id);

        _time.Advance(TimeSpan.FromDays(1));
        Assert.True(prekeys.Refresh());
        Assert.NotEqual(first, prekeys.CurrentSignedPrekey.Id);
        Assert.NotNull(prekeys.FindSignedPrekey(first));

        _time.Advance(TimeSpan.FromDays(14));
        prekeys.Refresh();
        Assert.Null(prekeys.FindSignedPrekey(first));
    }

    [Fact]
    public void Refresh_refills_one_time_prekeys_only_below_the_threshold()
    {
        var options = new PrekeyOptions { OneTimePrekeyBatchSize = 5, OneTimePrekeyRefillThreshold = 2, KemOneTimePrekeyBatchSize = 3, KemOneTimePrekeyRefillThreshold = 1 };
        using DeviceIdentity identity = DeviceIdentity.Generate();
        using var prekeys = DevicePrekeys.Create(identity, options, _time);
        Assert.Equal(5, prekeys.OneTimePrekeyCount);
        Assert.Equal(3, prekeys.KemOneTimePrekeyCount);
        Assert.Equal(8, prekeys.OneTimePrekeys.Count());

        uint[] ids = prekeys.OneTimePrekeys.Where(p => p.Kind == PrekeyKind.OneTimeX25519).Select(p => p.Id).ToArray();
        prekeys.ConsumeOneTimePrekeys(ids[0], kemPrekeyId: 0);
        prekeys.ConsumeOneTimePrekeys(ids[1], kemPrekeyId: 0);
        prekeys.ConsumeOneTimePrekeys(ids[2], kemPrekeyId: 0);
        Assert.False(prekeys.Refresh());
        Assert.Equal(2, prekeys.OneTimePrekeyCount);

        prekeys.ConsumeOneTimePrekeys(ids[3], kemPrekeyId: 0);
        Assert.True(prekeys.Refresh());
        Assert.Equal(5, prekeys.OneTimePrekeyCount);
        Assert.All(prekeys.OneTimePrekeys, p => p.Verify(identity.PublicKey.SigningKey, "prekey", p.Kind));
    }

    [Fact]
    public void Refresh_rotates_the_last_resort_kem_prekey()
    {
        using DeviceIdentity identity = DeviceIdentity.Generate();
        using var prekeys = DevicePrekeys.Create(identity, new PrekeyOptions { LastResortPrekeyRotationInterval = TimeSpan.FromDays(30), OneTimePrekeyBatchSize = 1, KemOneTimePrekeyBatchSize = 1, OneTimePrekeyRefillThreshold = 0, KemOneTimePrekeyRefillThreshold = 0 }, _time);
        uint first = prekeys.CurrentLastResortPrekey.Id;
        _time.Advance(TimeSpan.FromDays(30));
        Assert.True(prekeys.Refresh());
        Assert.NotEqual(first, prekeys.CurrentLastResortPrekey.Id);
        Assert.NotNull(prekeys.FindKemPrekey(first));
    }

    [Theory]
    [InlineData(nameof(PrekeyOptions.OneTimePrekeyBatchSize), 0)]
    [InlineData(nameof(PrekeyOptions.OneTimePrekeyRefillThreshold), 101)]
    [InlineData(nameof(PrekeyOptions.KemOneTimePrekeyBatchSize), 1001)]
    [InlineData(nameof(PrekeyOptions.SignedPrekeyRotationInterval), 0)]
    public void Prekey_options_out_of_range_are_refused_naming_the_setting(string setting, int value)
    {
        var options = new PrekeyOptions();
        switch (setting)
        {
            case nameof(PrekeyOptions.OneTimePrekeyBatchSize): options.OneTimePrekeyBatchSize = value; break;
            case nameof(PrekeyOptions.OneTimePrekeyRefillThreshold): options.OneTimePrekeyRefillThreshold = value; break;
            case nameof(PrekeyOptions.KemOneTimePrekeyBatchSize): options.KemOneTimePrekeyBatchSize = value; break;
            default: options.SignedPrekeyRotationInterval = TimeSpan.FromDays(value); break;
        }

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(setting, ex.ParamName);
    }

    private static void AssertRefused(PrekeyBundle bundle, CryptographicFailureReason expected)
    {
        // Through the wire as well: what the relay hands out is bytes.
        CryptographicFailureException direct = Assert.Throws<CryptographicFailureException>(bundle.Verify);
        Assert.Equal(expected, direct.Reason);
        CryptographicFailureException parsed = Assert.Throws<CryptographicFailureException>(() => PrekeyBundle.Parse(bundle.Encode()).Verify());
        Assert.Equal(expected, parsed.Reason);
    }

    private static void AssertParseRefused(byte[] encoded, CryptographicFailureReason expected)
    {
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(() => PrekeyBundle.Parse(encoded));
        Assert.Equal(expected, ex.Reason);
    }

    private static PrekeyBundle With(PrekeyBundle bundle, IdentityKey? identity = null, PublicPrekey? signed = null, PublicPrekey? oneTime = null, PublicPrekey? kem = null) =>
        new(identity ?? bundle.Identity, signed ?? bundle.SignedPrekey, oneTime ?? bundle.OneTimePrekey, kem ?? bundle.KemPrekey);

    private static PublicPrekey Alter(PublicPrekey prekey, uint? id = null, ulong? createdAt = null, byte[]? publicKey = null, byte[]? signature = null) =>
        new(prekey.Kind, prekey.Algorithm, id ?? prekey.Id, createdAt ?? prekey.CreatedAt, publicKey ?? prekey.PublicKey, signature ?? prekey.Signature);

    private static byte[] Flip(ReadOnlySpan<byte> value)
    {
        byte[] copy = value.ToArray();
        copy[copy.Length / 2] ^= 0x04;
        return copy;
    }

    private static byte[] Patch(byte[] encoded, int offset, byte value)
    {
        byte[] copy = (byte[])encoded.Clone();
        copy[offset] = value;
        return copy;
    }
}
