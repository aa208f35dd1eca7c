using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

/// <summary>
/// A messenger remembers the sender certificates and envelope keys that verified so it does not verify them again on
/// every envelope. These pin down that only the identical certificate, or the same key for the same identity and
/// device, is ever let through without a check.
/// </summary>
public sealed class RememberedVerificationTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
    private readonly List<EnvelopeTestDevice> _devices = [];

    [Fact]
    public async Task A_tampered_certificate_is_refused_after_the_same_senders_genuine_one_was_verified()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] first = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], SecureMessengerTests.Bytes("first"))).Envelope;
        Assert.Equal("first", SecureMessengerTests.Text((await clinician.Messenger.OpenAsync(first)).Plaintext));

        byte[] second = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], SecureMessengerTests.Bytes("second"))).Envelope;
        byte[] certificate = patient.Messenger.Certificate.Encode();
        certificate[^1] ^= 0x01;
        var reader = new WireReader(certificate);
        SenderCertificate tampered = SenderCertificate.Read(ref reader);
        byte[]? sessionBefore = await clinician.SessionBytesAsync(patient);

        CryptographicFailureException refused = await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(Rewrap(second, clinician, tampered)));

        Assert.Equal(CryptographicFailureReason.InvalidSignature, refused.Reason);
        Assert.Equal(sessionBefore, await clinician.SessionBytesAsync(patient));
        Assert.Equal("second", SecureMessengerTests.Text((await clinician.Messenger.OpenAsync(second)).Plaintext));
    }

    [Fact]
    public async Task An_envelope_key_that_verified_for_one_identity_and_device_is_still_checked_for_any_other()
    {
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        EnvelopeTestDevice other = await DeviceAsync("clinician-2", "tablet");
        SignedEnvelopeKey key = clinician.Messenger.CurrentEnvelopeKey;
        key.Verify(clinician.Messenger.Identity, clinician.Device);

        CryptographicFailureException otherIdentity = Assert.Throws<CryptographicFailureException>(() => key.Verify(other.Messenger.Identity, clinician.Device));
        CryptographicFailureException otherDevice = Assert.Throws<CryptographicFailureException>(() => key.Verify(clinician.Messenger.Identity, other.Device));

        Assert.Equal(CryptographicFailureReason.InvalidSignature, otherIdentity.Reason);
        Assert.Equal(CryptographicFailureReason.InvalidSignature, otherDevice.Reason);
        key.Verify(clinician.Messenger.Identity, clinician.Device);
    }

    public void Dispose()
    {
        foreach (EnvelopeTestDevice device in _devices)
        {
            device.Dispose();
        }
    }

    /// <summary>Opens an envelope with the recipient's keys and reseals its session message under another certificate.</summary>
    private static byte[] Rewrap(byte[] envelope, EnvelopeTestDevice recipient, SenderCertificate certificate)
    {
        EnvelopeContent content = EnvelopeContent.Parse(SealedEnvelope.Parse(envelope).Open(recipient.Messenger.EnvelopeKeys.Candidates));
        return SealedEnvelope.Seal(recipient.Device, recipient.Messenger.CurrentEnvelopeKey.PublicKey, EnvelopeContent.EncodePadded(certificate, content.Message));
    }

    private async Task<EnvelopeTestDevice> DeviceAsync(string user, string device)
    {
        EnvelopeTestDevice created = await EnvelopeTestDevice.CreateAsync(user, device, _time);
        _devices.Add(created);
        return created;
    }
}
