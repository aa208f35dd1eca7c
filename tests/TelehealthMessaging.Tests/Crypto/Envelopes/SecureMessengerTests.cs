using System.Text;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

public sealed class SecureMessengerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
    private readonly List<EnvelopeTestDevice> _devices = [];

    [Fact]
    public async Task Seal_and_open_round_trip_both_ways_with_sender_ids()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");

        OutgoingEnvelope first = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("hello doctor")));
        Assert.Equal(clinician.Device, first.RecipientDevice);
        OpenedEnvelope opened = await clinician.Messenger.OpenAsync(first.Envelope);
        Assert.Equal("hello doctor", Text(opened.Plaintext));
        Assert.Equal(patient.User, opened.SenderUser);
        Assert.Equal(patient.Device, opened.SenderDevice);
        Assert.Equal(patient.Messenger.Identity, opened.SenderIdentity);
        Assert.True(opened.IsFirstContact);
        Assert.False(opened.IsFromOwnDevice);

        OutgoingEnvelope reply = Assert.Single(await clinician.Messenger.SealAsync([await patient.AsRecipientForAsync(clinician)], Bytes("hello patient")));
        OpenedEnvelope replied = await patient.Messenger.OpenAsync(reply.Envelope);
        Assert.Equal("hello patient", Text(replied.Plaintext));
        Assert.False(replied.IsFirstContact);

        for (int i = 0; i < 5; i++)
        {
            OutgoingEnvelope next = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes($"message {i}")));
            Assert.Equal($"message {i}", Text((await clinician.Messenger.OpenAsync(next.Envelope)).Plaintext));
        }
    }

    [Fact]
    public async Task Fan_out_seals_one_envelope_per_device_and_each_device_opens_only_its_own()
    {
        EnvelopeTestDevice patientPhone = await DeviceAsync("patient-1", "patient-phone");
        EnvelopeTestDevice patientTablet = await DeviceAsync("patient-1", "patient-tablet");
        EnvelopeTestDevice patientLaptop = await DeviceAsync("patient-1", "patient-laptop");
        EnvelopeTestDevice nurse = await DeviceAsync("clinic-7", "nurse-station");
        EnvelopeTestDevice doctor = await DeviceAsync("clinic-7", "doctor-desk");

        IReadOnlyList<OutgoingEnvelope> envelopes = await patientPhone.Messenger.SealAsync(
            [await nurse.AsRecipientForAsync(patientPhone), await doctor.AsRecipientForAsync(patientPhone)],
            Bytes("my prescription ran out"),
            [await patientPhone.AsRecipientForAsync(patientPhone), await patientTablet.AsRecipientForAsync(patientPhone), await patientLaptop.AsRecipientForAsync(patientPhone)]);

        // This device is skipped among the own devices: two clinic devices plus two own other devices.
        Assert.Equal([nurse.Device, doctor.Device, patientTablet.Device, patientLaptop.Device], envelopes.Select(e => e.RecipientDevice));
        EnvelopeTestDevice[] receivers = [nurse, doctor, patientTablet, patientLaptop];
        for (int i = 0; i < receivers.Length; i++)
        {
            for (int j = 0; j < receivers.Length; j++)
            {
                if (i != j)
                {
                    CryptographicFailureException wrong = await Assert.ThrowsAsync<CryptographicFailureException>(() => receivers[j].Messenger.OpenAsync(envelopes[i].Envelope));
                    Assert.Equal(CryptographicFailureReason.WrongRecipient, wrong.Reason);
                }
            }

            OpenedEnvelope opened = await receivers[i].Messenger.OpenAsync(envelopes[i].Envelope);
            Assert.Equal("my prescription ran out", Text(opened.Plaintext));
            Assert.Equal(patientPhone.Device, opened.SenderDevice);
            Assert.Equal(receivers[i].User == patientPhone.User, opened.IsFromOwnDevice);
        }
    }

    [Fact]
    public async Task Seal_refuses_this_device_as_recipient_foreign_own_devices_duplicates_and_missing_bundles()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        EnvelopeRecipient clinicianRecipient = await clinician.AsRecipientForAsync(patient);

        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([new EnvelopeRecipient(patient.User, patient.Device, patient.Messenger.Identity, patient.Messenger.CurrentEnvelopeKey)], Bytes("x")));
        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([], Bytes("x"), [clinicianRecipient]));
        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([clinicianRecipient, clinicianRecipient], Bytes("x")));
        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([], Bytes("x")));
        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([new EnvelopeRecipient(clinician.User, clinician.Device, clinician.Messenger.Identity, clinician.Messenger.CurrentEnvelopeKey)], Bytes("x")));
        await Assert.ThrowsAsync<ArgumentException>(() => patient.Messenger.SealAsync([clinicianRecipient], new byte[SessionMessage.MaxPlaintextSize + 1]));
        Assert.Null(await patient.SessionBytesAsync(clinician));
    }

    [Fact]
    public async Task Seal_refuses_an_envelope_key_or_bundle_of_another_identity_before_changing_any_session()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        EnvelopeTestDevice other = await DeviceAsync("clinician-2", "other-desk");

        // The other device's envelope key, served as the clinician's: signed by another identity and for another device.
        var forgedKey = new EnvelopeRecipient(clinician.User, clinician.Device, clinician.Messenger.Identity, other.Messenger.CurrentEnvelopeKey, clinician.NextBundle());
        Assert.Equal(CryptographicFailureReason.InvalidSignature, (await Assert.ThrowsAsync<CryptographicFailureException>(() => patient.Messenger.SealAsync([forgedKey], Bytes("x")))).Reason);

        var foreignBundle = new EnvelopeRecipient(clinician.User, clinician.Device, clinician.Messenger.Identity, clinician.Messenger.CurrentEnvelopeKey, other.NextBundle());
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, (await Assert.ThrowsAsync<CryptographicFailureException>(() => patient.Messenger.SealAsync([foreignBundle], Bytes("x")))).Reason);
        Assert.Null(await patient.SessionBytesAsync(clinician));

        // Once a session exists, the directory listing another identity (or user) for the device is refused too.
        await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("first"));
        byte[]? before = await patient.SessionBytesAsync(clinician);
        var swappedIdentity = new EnvelopeRecipient(clinician.User, clinician.Device, other.Messenger.Identity, SignedEnvelopeKeyFor(other, clinician.Device));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, (await Assert.ThrowsAsync<CryptographicFailureException>(() => patient.Messenger.SealAsync([swappedIdentity], Bytes("x")))).Reason);
        var otherUser = new EnvelopeRecipient(other.User, clinician.Device, clinician.Messenger.Identity, clinician.Messenger.CurrentEnvelopeKey);
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, (await Assert.ThrowsAsync<CryptographicFailureException>(() => patient.Messenger.SealAsync([otherUser], Bytes("x")))).Reason);
        Assert.Equal(before, await patient.SessionBytesAsync(clinician));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 150)]
    [InlineData(10, 180)]
    [InlineData(300, 700)]
    [InlineData(2000, 3500)]
    [InlineData(70_000, 100_000)]
    public async Task Envelopes_of_plaintexts_in_one_bucket_have_identical_lengths(int shorter, int longer)
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);

        byte[] a = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], new byte[shorter])).Envelope;
        byte[] b = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], new byte[longer])).Envelope;

        Assert.Equal(a.Length, b.Length);
        int overhead = 2 + clinician.Device.Value!.Length + Hpke.EncapsulatedKeySize + Aead.TagSize;
        Assert.True(EnvelopePadding.IsBucket(a.Length - overhead));
        Assert.Equal(shorter, (await clinician.Messenger.OpenAsync(a)).Plaintext.Length);
        Assert.Equal(longer, (await clinician.Messenger.OpenAsync(b)).Plaintext.Length);
    }

    [Fact]
    public async Task Plaintexts_in_different_buckets_give_different_lengths()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);

        byte[] small = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], new byte[10])).Envelope;
        byte[] large = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], new byte[600])).Envelope;
        Assert.Equal(512, small.Length - Overhead(clinician));
        Assert.Equal(1024, large.Length - Overhead(clinician));
    }

    [Fact]
    public async Task Every_single_bit_flip_of_a_ratchet_envelope_is_refused_and_leaves_the_session_unchanged_and_usable()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("bit flips"))).Envelope;

        await AssertEveryBitFlipRefusedAsync(clinician, patient, envelope);
        Assert.Equal("bit flips", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
    }

    [Fact]
    public async Task Every_single_bit_flip_of_a_prekey_envelope_is_refused_and_consumes_no_prekey()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("first contact"))).Envelope;

        await AssertEveryBitFlipRefusedAsync(clinician, patient, envelope);
        int oneTime = clinician.Messenger.OneTimePrekeys().Count;
        Assert.Equal("first contact", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
        Assert.Equal(oneTime - 2, clinician.Messenger.OneTimePrekeys().Count);
    }

    [Fact]
    public async Task Every_truncation_of_an_envelope_is_refused_and_leaves_the_session_unchanged()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("truncate me"))).Envelope;
        byte[]? sessionBefore = await clinician.SessionBytesAsync(patient);

        for (int length = 0; length < envelope.Length; length++)
        {
            await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(envelope.AsMemory(0, length)));
        }

        // Appending bytes is refused too.
        await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync((byte[])[.. envelope, 0]));
        Assert.Equal(sessionBefore, await clinician.SessionBytesAsync(patient));
        Assert.Equal("truncate me", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
    }

    [Fact]
    public async Task A_replayed_envelope_is_refused_as_duplicate_and_changes_nothing()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] prekeyEnvelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("once"))).Envelope;
        await clinician.Messenger.OpenAsync(prekeyEnvelope);
        byte[]? before = await clinician.SessionBytesAsync(patient);

        CryptographicFailureException replay = await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(prekeyEnvelope));
        Assert.Equal(CryptographicFailureReason.DuplicateMessage, replay.Reason);
        Assert.Equal(before, await clinician.SessionBytesAsync(patient));
    }

    [Fact]
    public void A_re_addressed_envelope_fails_authentication_because_the_header_is_associated_data()
    {
        using var key = X25519PrivateKey.Generate();
        using var sender = DeviceIdentity.Generate();
        byte[] content = EnvelopeContent.EncodePadded(SenderCertificate.Create(new UserId("u"), new DeviceId("sender"), sender), new byte[100]);
        byte[] envelope = SealedEnvelope.Seal(new DeviceId("device-a"), key.PublicKey, content);
        Assert.Equal(content, SealedEnvelope.Parse(envelope).Open([key]));

        byte[] readdressed = (byte[])envelope.Clone();
        Encoding.ASCII.GetBytes("device-b").CopyTo(readdressed, 2);
        SealedEnvelope parsed = SealedEnvelope.Parse(readdressed);
        Assert.Equal(new DeviceId("device-b"), parsed.Recipient);
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, Assert.Throws<CryptographicFailureException>(() => parsed.Open([key])).Reason);
    }

    [Fact]
    public async Task An_envelope_for_another_device_is_refused_as_wrong_recipient_even_when_re_addressed()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk-a");
        EnvelopeTestDevice intruder = await DeviceAsync("clinician-2", "desk-b");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("for desk a"))).Envelope;

        Assert.Equal(CryptographicFailureReason.WrongRecipient, (await Assert.ThrowsAsync<CryptographicFailureException>(() => intruder.Messenger.OpenAsync(envelope))).Reason);
        byte[] readdressed = (byte[])envelope.Clone();
        Encoding.ASCII.GetBytes("desk-b").CopyTo(readdressed, 2);
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, (await Assert.ThrowsAsync<CryptographicFailureException>(() => intruder.Messenger.OpenAsync(readdressed))).Reason);
        Assert.Equal("for desk a", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
    }

    [Fact]
    public async Task A_prekey_message_wrapped_in_another_devices_certificate_is_refused_as_identity_mismatch()
    {
        EnvelopeTestDevice mallory = await DeviceAsync("patient-9", "mallory-phone");
        EnvelopeTestDevice doctor = await DeviceAsync("clinic-7", "doctor-desk");
        EnvelopeTestDevice nurse = await DeviceAsync("clinic-7", "nurse-station");

        byte[] malloryEnvelope = Assert.Single(await mallory.Messenger.SealAsync([await doctor.AsRecipientForAsync(mallory)], Bytes("I am the nurse"))).Envelope;
        byte[] forged = Rewrap(malloryEnvelope, doctor, nurse.Messenger.Certificate);

        CryptographicFailureException refused = await Assert.ThrowsAsync<CryptographicFailureException>(() => doctor.Messenger.OpenAsync(forged));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, refused.Reason);
        Assert.Null(await doctor.SessionBytesAsync(nurse));
        Assert.Null(await doctor.SessionBytesAsync(mallory));
        Assert.Equal("I am the nurse", Text((await doctor.Messenger.OpenAsync(malloryEnvelope)).Plaintext));
    }

    [Fact]
    public async Task A_certificate_claiming_another_device_or_user_than_the_session_is_refused()
    {
        EnvelopeTestDevice mallory = await DeviceAsync("patient-9", "mallory-phone");
        EnvelopeTestDevice doctor = await DeviceAsync("clinic-7", "doctor-desk");
        EnvelopeTestDevice nurse = await DeviceAsync("clinic-7", "nurse-station");
        await EstablishAsync(mallory, doctor);
        await EstablishAsync(nurse, doctor);
        byte[]? nurseSession = await doctor.SessionBytesAsync(nurse);
        byte[]? mallorySession = await doctor.SessionBytesAsync(mallory);
        using var malloryIdentity = DeviceIdentity.Import((await mallory.Keys.GetAsync(TelehealthMessaging.Storage.KeyRecordName.Identity))!);

        byte[] ratchetEnvelope = Assert.Single(await mallory.Messenger.SealAsync([await doctor.AsRecipientForAsync(mallory)], Bytes("trust me"))).Envelope;

        // Mallory signs a certificate naming the nurse's device, and one naming the clinic as her user.
        SenderCertificate[] forgeries =
        [
            SenderCertificate.Create(nurse.User, nurse.Device, malloryIdentity),
            SenderCertificate.Create(doctor.User, mallory.Device, malloryIdentity),
            nurse.Messenger.Certificate,
        ];
        foreach (SenderCertificate forgery in forgeries)
        {
            CryptographicFailureException refused = await Assert.ThrowsAsync<CryptographicFailureException>(() => doctor.Messenger.OpenAsync(Rewrap(ratchetEnvelope, doctor, forgery)));
            Assert.True(refused.Reason is CryptographicFailureReason.IdentityMismatch or CryptographicFailureReason.AuthenticationFailed, refused.Reason.ToString());
        }

        CryptographicFailureException claimedNurse = await Assert.ThrowsAsync<CryptographicFailureException>(() => doctor.Messenger.OpenAsync(Rewrap(ratchetEnvelope, doctor, forgeries[0])));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, claimedNurse.Reason);
        CryptographicFailureException claimedClinic = await Assert.ThrowsAsync<CryptographicFailureException>(() => doctor.Messenger.OpenAsync(Rewrap(ratchetEnvelope, doctor, forgeries[1])));
        Assert.Equal(CryptographicFailureReason.IdentityMismatch, claimedClinic.Reason);

        Assert.Equal(nurseSession, await doctor.SessionBytesAsync(nurse));
        Assert.Equal(mallorySession, await doctor.SessionBytesAsync(mallory));
        Assert.Equal("trust me", Text((await doctor.Messenger.OpenAsync(ratchetEnvelope)).Plaintext));
    }

    [Fact]
    public async Task A_certificate_with_a_bad_signature_is_refused()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("signed"))).Envelope;
        byte[] certificate = patient.Messenger.Certificate.Encode();
        certificate[^1] ^= 0x01;
        var reader = new WireReader(certificate);
        SenderCertificate tampered = SenderCertificate.Read(ref reader);

        CryptographicFailureException refused = await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(Rewrap(envelope, clinician, tampered)));
        Assert.Equal(CryptographicFailureReason.InvalidSignature, refused.Reason);
        Assert.Null(await clinician.SessionBytesAsync(patient));
    }

    [Fact]
    public async Task Envelopes_sealed_to_a_replaced_envelope_key_open_during_the_grace_period_only()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);
        EnvelopeRecipient oldKey = await clinician.AsRecipientForAsync(patient);

        _time.Advance(TimeSpan.FromDays(30));
        Assert.True(await clinician.Messenger.RefreshKeysAsync());
        Assert.NotEqual(oldKey.EnvelopeKey.Id, clinician.Messenger.CurrentEnvelopeKey.Id);
        Assert.Equal(2, clinician.Messenger.EnvelopeKeys.Count);

        byte[] inFlight = Assert.Single(await patient.Messenger.SealAsync([oldKey], Bytes("sealed to the old key"))).Envelope;
        byte[] current = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("sealed to the new key"))).Envelope;
        await clinician.RestartAsync();
        Assert.Equal("sealed to the new key", Text((await clinician.Messenger.OpenAsync(current)).Plaintext));
        Assert.Equal("sealed to the old key", Text((await clinician.Messenger.OpenAsync(inFlight)).Plaintext));

        byte[] late = Assert.Single(await patient.Messenger.SealAsync([oldKey], Bytes("too late"))).Envelope;
        byte[]? before = await clinician.SessionBytesAsync(patient);
        _time.Advance(TimeSpan.FromDays(14));
        Assert.True(await clinician.Messenger.RefreshKeysAsync());
        Assert.Equal(1, clinician.Messenger.EnvelopeKeys.Count);
        Assert.Equal(CryptographicFailureReason.AuthenticationFailed, (await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(late))).Reason);
        Assert.Equal(before, await clinician.SessionBytesAsync(patient));
    }

    [Fact]
    public async Task Keys_and_sessions_survive_a_restart_of_the_messenger()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        IdentityKey identity = clinician.Messenger.Identity;
        SignedEnvelopeKey envelopeKey = clinician.Messenger.CurrentEnvelopeKey;
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("before restart"))).Envelope;

        await clinician.RestartAsync();
        await patient.RestartAsync();

        Assert.Equal(identity, clinician.Messenger.Identity);
        Assert.Equal(envelopeKey.Encode(), clinician.Messenger.CurrentEnvelopeKey.Encode());
        Assert.Equal("before restart", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
        byte[] reply = Assert.Single(await clinician.Messenger.SealAsync([await patient.AsRecipientForAsync(clinician)], Bytes("after restart"))).Envelope;
        Assert.Equal("after restart", Text((await patient.Messenger.OpenAsync(reply)).Plaintext));
    }

    [Fact]
    public async Task A_failed_prekey_deletion_after_the_session_was_stored_still_returns_the_message_and_is_retried()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("first contact"))).Envelope;
        byte[]? keySetBefore = await clinician.KeySetBytesAsync();
        int oneTimeBefore = clinician.Messenger.OneTimePrekeys().Count;

        // The session write succeeds; the key-set write that deletes the used one-time prekeys fails.
        clinician.Crash.Arm(1);
        Assert.Equal("first contact", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
        Assert.NotNull(await clinician.SessionBytesAsync(patient));
        Assert.Equal(keySetBefore, await clinician.KeySetBytesAsync());
        Assert.Equal(oneTimeBefore - 2, clinician.Messenger.OneTimePrekeys().Count);

        // The next operation stores the key set first.
        byte[] reply = Assert.Single(await clinician.Messenger.SealAsync([await patient.AsRecipientForAsync(clinician)], Bytes("reply"))).Envelope;
        Assert.NotEqual(keySetBefore, await clinician.KeySetBytesAsync());
        await clinician.RestartAsync();
        Assert.Equal(oneTimeBefore - 2, clinician.Messenger.OneTimePrekeys().Count);
        Assert.Equal("reply", Text((await patient.Messenger.OpenAsync(reply)).Plaintext));
    }

    [Fact]
    public async Task A_crash_before_the_session_is_stored_leaves_the_envelope_openable_after_restart()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes("survives"))).Envelope;

        clinician.Crash.Arm(0);
        await Assert.ThrowsAsync<IOException>(() => clinician.Messenger.OpenAsync(envelope));
        Assert.Null(await clinician.SessionBytesAsync(patient));
        await clinician.RestartAsync();
        Assert.Equal("survives", Text((await clinician.Messenger.OpenAsync(envelope)).Plaintext));
    }

    [Fact]
    public async Task Concurrent_seals_and_opens_on_one_messenger_never_reuse_a_message_key()
    {
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        await EstablishAsync(patient, clinician);
        EnvelopeRecipient recipient = await clinician.AsRecipientForAsync(patient);

        OutgoingEnvelope[][] sealedInParallel = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
            Task.Run(async () => (await patient.Messenger.SealAsync([recipient], Bytes($"parallel {i}"))).ToArray())));

        // Opened concurrently and in reverse order: each opens exactly once, whatever the interleaving.
        string[] opened = await Task.WhenAll(sealedInParallel.Reverse().Select(envelopes =>
            Task.Run(async () => Text((await clinician.Messenger.OpenAsync(Assert.Single(envelopes).Envelope)).Plaintext))));
        Assert.Equal(Enumerable.Range(0, 24).Select(i => $"parallel {i}").Order(StringComparer.Ordinal), opened.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Nothing_sensitive_appears_in_exception_messages_or_ToString()
    {
        const string Canary = "CANARY-diagnosis-HIV-positive";
        EnvelopeTestDevice patient = await DeviceAsync("patient-1", "phone");
        EnvelopeTestDevice clinician = await DeviceAsync("clinician-1", "desk");
        byte[] envelope = Assert.Single(await patient.Messenger.SealAsync([await clinician.AsRecipientForAsync(patient)], Bytes(Canary))).Envelope;

        var texts = new List<string>();
        for (int i = 0; i < envelope.Length; i += 7)
        {
            byte[] flipped = (byte[])envelope.Clone();
            flipped[i] ^= 0x40;
            CryptographicFailureException ex = await Assert.ThrowsAsync<CryptographicFailureException>(() => clinician.Messenger.OpenAsync(flipped));
            texts.Add(ex.ToString());
        }

        OpenedEnvelope opened = await clinician.Messenger.OpenAsync(envelope);
        texts.Add(opened.ToString());
        texts.Add(clinician.Messenger.ToString());
        texts.Add(clinician.Messenger.EnvelopeKeys.ToString());
        texts.Add(clinician.Messenger.CurrentEnvelopeKey.ToString());
        texts.Add(patient.Messenger.Certificate.ToString());
        texts.Add(SealedEnvelope.Parse(envelope).ToString());
        texts.Add(new OutgoingEnvelope(clinician.User, clinician.Device, envelope).ToString());
        texts.Add((await clinician.AsRecipientForAsync(patient)).ToString());

        byte[] secrets = clinician.Messenger.EnvelopeKeys.Export();
        string[] forbidden =
        [
            Canary,
            Convert.ToHexString(secrets, secrets.Length - 42, 16),
            Convert.ToBase64String(Bytes(Canary)),
            Convert.ToHexString(Bytes(Canary)),
        ];
        foreach (string text in texts)
        {
            foreach (string secret in forbidden)
            {
                Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    public void Dispose()
    {
        foreach (EnvelopeTestDevice device in _devices)
        {
            device.Dispose();
        }
    }

    internal static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    internal static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static int Overhead(EnvelopeTestDevice recipient) => 2 + recipient.Device.Value!.Length + Hpke.EncapsulatedKeySize + Aead.TagSize;

    /// <summary>Opens an envelope with the recipient's keys and reseals its session message under another certificate.</summary>
    private static byte[] Rewrap(byte[] envelope, EnvelopeTestDevice recipient, SenderCertificate certificate)
    {
        EnvelopeContent content = EnvelopeContent.Parse(SealedEnvelope.Parse(envelope).Open(recipient.Messenger.EnvelopeKeys.Candidates));
        return SealedEnvelope.Seal(recipient.Device, recipient.Messenger.CurrentEnvelopeKey.PublicKey, EnvelopeContent.EncodePadded(certificate, content.Message));
    }

    /// <summary>A key of <paramref name="owner"/>'s, signed by it but for <paramref name="device"/>.</summary>
    private static SignedEnvelopeKey SignedEnvelopeKeyFor(EnvelopeTestDevice owner, DeviceId device)
    {
        using var identity = DeviceIdentity.Import(owner.Keys.GetAsync(TelehealthMessaging.Storage.KeyRecordName.Identity).AsTask().GetAwaiter().GetResult()!);
        return SignedEnvelopeKey.Create(identity, device, 99, 0, owner.Messenger.CurrentEnvelopeKey.PublicKey);
    }

    private static async Task AssertEveryBitFlipRefusedAsync(EnvelopeTestDevice recipient, EnvelopeTestDevice sender, byte[] envelope)
    {
        byte[]? sessionBefore = await recipient.SessionBytesAsync(sender);
        byte[]? keysBefore = await recipient.KeySetBytesAsync();
        for (int bit = 0; bit < envelope.Length * 8; bit++)
        {
            byte[] flipped = (byte[])envelope.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            await Assert.ThrowsAsync<CryptographicFailureException>(() => recipient.Messenger.OpenAsync(flipped));
        }

        Assert.Equal(sessionBefore, await recipient.SessionBytesAsync(sender));
        Assert.Equal(keysBefore, await recipient.KeySetBytesAsync());
    }

    private static async Task EstablishAsync(EnvelopeTestDevice a, EnvelopeTestDevice b)
    {
        OutgoingEnvelope first = Assert.Single(await a.Messenger.SealAsync([await b.AsRecipientForAsync(a)], Bytes("hi")));
        await b.Messenger.OpenAsync(first.Envelope);
        OutgoingEnvelope reply = Assert.Single(await b.Messenger.SealAsync([await a.AsRecipientForAsync(b)], Bytes("hi back")));
        await a.Messenger.OpenAsync(reply.Envelope);
    }

    private async Task<EnvelopeTestDevice> DeviceAsync(string user, string device)
    {
        EnvelopeTestDevice created = await EnvelopeTestDevice.CreateAsync(user, device, _time);
        _devices.Add(created);
        return created;
    }
}
