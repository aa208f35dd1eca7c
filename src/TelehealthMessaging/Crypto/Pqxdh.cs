using System.Security.Cryptography;
using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// PQXDH key agreement (Signal's PQXDH specification, revision 3) with X25519, SHA-256 and ML-KEM-768. The device
/// identity has a separate X25519 key, bound to its Ed25519 key by signature, in place of Signal's XEdDSA key.
/// </summary>
/// <remarks>
/// SK = HKDF-SHA256(salt = 32 zero bytes, IKM = F ‖ DH1 ‖ DH2 ‖ DH3 ‖ [DH4] ‖ SS, info = <see cref="Info"/>, L = 32) with
/// F = 32 × 0xFF, DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B) and
/// (CT, SS) = ML-KEM-768.Encaps(PQPK_B).
/// </remarks>
internal static class Pqxdh
{
    public const int SharedKeySize = 32;

    /// <summary>The HKDF info string; naming the curve, hash and KEM keeps keys from other suites apart.</summary>
    public static readonly byte[] Info = Encoding.ASCII.GetBytes("TelehealthMessaging_PQXDH_X25519_SHA-256_ML-KEM-768");

    /// <summary>AD = initiator signing key ‖ initiator agreement key ‖ responder signing key ‖ responder agreement key (128 bytes).</summary>
    public static byte[] AssociatedData(IdentityKey initiator, IdentityKey responder) =>
        [.. initiator.EncodePublicKeys(), .. responder.EncodePublicKeys()];

    /// <summary>
    /// Verifies <paramref name="bundle"/> and runs the initiator's side. Returns SK and the preamble the first messages
    /// carry, whose ephemeral key names the session.
    /// </summary>
    public static byte[] Initiate(DeviceIdentity initiator, PrekeyBundle bundle, out PrekeyPreamble preamble)
    {
        bundle.Verify();
        using X25519PrivateKey ephemeral = X25519PrivateKey.Generate();
        bool hasOneTime = bundle.OneTimePrekey is not null;
        byte[] ikm = new byte[32 + (32 * (hasOneTime ? 4 : 3)) + MLKem768.SharedSecretSize];
        byte[] kemCiphertext = new byte[MLKem768.CiphertextSize];
        try
        {
            Span<byte> rest = ikm.AsSpan();
            rest[..32].Fill(0xFF);
            rest = rest[32..];
            initiator.AgreementKey.DeriveSharedSecret(bundle.SignedPrekey.PublicKey, rest[..32]);
            ephemeral.DeriveSharedSecret(bundle.Identity.AgreementKey, rest.Slice(32, 32));
            ephemeral.DeriveSharedSecret(bundle.SignedPrekey.PublicKey, rest.Slice(64, 32));
            rest = rest[96..];
            if (bundle.OneTimePrekey is PublicPrekey oneTime)
            {
                ephemeral.DeriveSharedSecret(oneTime.PublicKey, rest[..32]);
                rest = rest[32..];
            }

            MLKem768.Encapsulate(bundle.KemPrekey.PublicKey, kemCiphertext, rest);
            preamble = new PrekeyPreamble(initiator.PublicKey, ephemeral.PublicKey, bundle.SignedPrekey.Id, bundle.OneTimePrekey?.Id, bundle.KemPrekey.Id, kemCiphertext);
            return DeriveSharedKey(ikm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    /// <summary>
    /// Runs the responder's side for a received preamble. Checks the initiator's identity binding and that every named
    /// prekey is held (<see cref="CryptographicFailureReason.UnknownPrekey"/> otherwise). Deletes nothing: the caller
    /// consumes one-time prekeys only once the first message decrypted.
    /// </summary>
    public static byte[] Respond(DeviceIdentity responder, DevicePrekeys prekeys, PrekeyPreamble preamble)
    {
        preamble.InitiatorIdentity.Verify();
        X25519PrivateKey signed = prekeys.FindSignedPrekey(preamble.SignedPrekeyId) ?? throw UnknownPrekey("signed prekey");
        X25519PrivateKey? oneTime = null;
        if (preamble.OneTimePrekeyId is uint oneTimeId)
        {
            oneTime = prekeys.FindOneTimePrekey(oneTimeId) ?? throw UnknownPrekey("one-time prekey");
        }

        MLKem768PrivateKey kem = prekeys.FindKemPrekey(preamble.KemPrekeyId) ?? throw UnknownPrekey("ML-KEM prekey");

        byte[] ikm = new byte[32 + (32 * (oneTime is null ? 3 : 4)) + MLKem768.SharedSecretSize];
        try
        {
            Span<byte> rest = ikm.AsSpan();
            rest[..32].Fill(0xFF);
            rest = rest[32..];
            signed.DeriveSharedSecret(preamble.InitiatorIdentity.AgreementKey, rest[..32]);
            responder.AgreementKey.DeriveSharedSecret(preamble.EphemeralKey, rest.Slice(32, 32));
            signed.DeriveSharedSecret(preamble.EphemeralKey, rest.Slice(64, 32));
            rest = rest[96..];
            if (oneTime is not null)
            {
                oneTime.DeriveSharedSecret(preamble.EphemeralKey, rest[..32]);
                rest = rest[32..];
            }

            kem.Decapsulate(preamble.KemCiphertext, rest);
            return DeriveSharedKey(ikm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    private static byte[] DeriveSharedKey(ReadOnlySpan<byte> ikm)
    {
        byte[] sharedKey = new byte[SharedKeySize];
        Span<byte> salt = stackalloc byte[32];
        salt.Clear();
        HkdfSha256.DeriveKey(ikm, salt, Info, sharedKey);
        return sharedKey;
    }

    private static CryptographicFailureException UnknownPrekey(string what) =>
        new(CryptographicFailureReason.UnknownPrekey, $"The prekey message names a {what} this device does not hold.");
}
