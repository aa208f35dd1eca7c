using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Sessions;

public class IdentityAndSafetyNumberTests
{
    private static readonly UserId Alice = new("alice");
    private static readonly UserId Bob = new("bob");

    [Fact]
    public void Identity_binding_signature_verifies_and_a_swapped_agreement_key_is_refused()
    {
        using DeviceIdentity device = DeviceIdentity.Generate();
        using DeviceIdentity other = DeviceIdentity.Generate();
        device.PublicKey.Verify();

        var forged = new IdentityKey(device.PublicKey.SigningKey, other.PublicKey.AgreementKey, device.PublicKey.BindingSignature);
        CryptographicFailureException ex = Assert.Throws<CryptographicFailureException>(forged.Verify);
        Assert.Equal(CryptographicFailureReason.InvalidSignature, ex.Reason);
    }

    [Fact]
    public void Identity_export_and_import_reproduce_the_same_public_identity()
    {
        using DeviceIdentity device = DeviceIdentity.Generate();
        using DeviceIdentity restored = DeviceIdentity.Import(device.Export());
        Assert.Equal(device.PublicKey, restored.PublicKey);
        Assert.Equal(device.PublicKey.BindingSignature.ToArray(), restored.PublicKey.BindingSignature.ToArray());
    }

    [Fact]
    public void Fingerprint_is_stable_and_differs_between_identities()
    {
        using DeviceIdentity a = DeviceIdentity.Generate();
        using DeviceIdentity b = DeviceIdentity.Generate();
        Assert.Equal(32, a.PublicKey.Fingerprint().Length);
        Assert.Equal(a.PublicKey.Fingerprint(), a.PublicKey.Fingerprint());
        Assert.NotEqual(a.PublicKey.Fingerprint(), b.PublicKey.Fingerprint());
    }

    [Fact]
    public void Safety_number_is_the_same_on_both_sides_and_has_sixty_digits_in_groups()
    {
        using DeviceIdentity a = DeviceIdentity.Generate();
        using DeviceIdentity b = DeviceIdentity.Generate();

        SafetyNumber onAlice = SafetyNumber.Compute(a.PublicKey, Alice, b.PublicKey, Bob);
        SafetyNumber onBob = SafetyNumber.Compute(b.PublicKey, Bob, a.PublicKey, Alice);

        Assert.Equal(onAlice, onBob);
        Assert.True(onAlice == onBob);
        Assert.Equal(SafetyNumber.DigitCount, onAlice.Digits.Length);
        Assert.All(onAlice.Digits, c => Assert.InRange(c, '0', '9'));
        string[] groups = onAlice.ToString().Split(' ');
        Assert.Equal(12, groups.Length);
        Assert.All(groups, g => Assert.Equal(5, g.Length));
    }

    [Fact]
    public void Safety_number_changes_when_either_identity_or_user_changes()
    {
        using DeviceIdentity a = DeviceIdentity.Generate();
        using DeviceIdentity b = DeviceIdentity.Generate();
        using DeviceIdentity aReinstalled = DeviceIdentity.Generate();
        using DeviceIdentity bReinstalled = DeviceIdentity.Generate();
        SafetyNumber original = SafetyNumber.Compute(a.PublicKey, Alice, b.PublicKey, Bob);

        Assert.NotEqual(original, SafetyNumber.Compute(aReinstalled.PublicKey, Alice, b.PublicKey, Bob));
        Assert.NotEqual(original, SafetyNumber.Compute(a.PublicKey, Alice, bReinstalled.PublicKey, Bob));
        Assert.True(original != SafetyNumber.Compute(a.PublicKey, new UserId("mallory"), b.PublicKey, Bob));
    }

    [Fact]
    public void Safety_number_halves_follow_the_documented_iterated_sha512()
    {
        using DeviceIdentity a = DeviceIdentity.Generate();
        using DeviceIdentity b = DeviceIdentity.Generate();
        string expectedA = ReferenceHalf(a.PublicKey, "alice");
        string expectedB = ReferenceHalf(b.PublicKey, "bob");
        string expected = string.CompareOrdinal(expectedA, expectedB) <= 0 ? expectedA + expectedB : expectedB + expectedA;

        Assert.Equal(expected, SafetyNumber.Compute(a.PublicKey, Alice, b.PublicKey, Bob).Digits);
    }

    [Fact]
    public void Default_safety_number_is_empty_and_equals_only_itself()
    {
        Assert.Equal(string.Empty, default(SafetyNumber).Digits);
        Assert.Equal(string.Empty, default(SafetyNumber).ToString());
        using DeviceIdentity a = DeviceIdentity.Generate();
        Assert.NotEqual(default, SafetyNumber.Compute(a.PublicKey, Alice, a.PublicKey, Bob));
    }

    /// <summary>A second, deliberately naive transcription of docs/protocol.md "Safety numbers".</summary>
    private static string ReferenceHalf(IdentityKey identity, string user)
    {
        byte[] keys = [.. identity.SigningKey, .. identity.AgreementKey];
        byte[] hash = System.Security.Cryptography.SHA512.HashData([0x00, 0x01, .. keys, .. System.Text.Encoding.UTF8.GetBytes(user)]);
        for (int i = 0; i < 5200; i++)
        {
            hash = System.Security.Cryptography.SHA512.HashData([.. hash, .. keys]);
        }

        var digits = new System.Text.StringBuilder();
        for (int chunk = 0; chunk < 6; chunk++)
        {
            System.Numerics.BigInteger value = new(hash.AsSpan(chunk * 5, 5), isUnsigned: true, isBigEndian: true);
            digits.Append((value % 100000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture));
        }

        return digits.ToString();
    }
}
