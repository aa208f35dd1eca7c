using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport.DirectoryContract;

/// <summary>
/// What every <see cref="IRelayDirectory"/> must do, whichever relay is behind it. Subclasses connect devices to one
/// relay: the in-memory relay here, the real relay on SQLite and PostgreSQL in TelehealthMessaging.Relay.Tests.
/// </summary>
public abstract class RelayDirectoryContractTests : IAsyncLifetime
{
    /// <summary>The blob limit subclasses configure their relay with.</summary>
    protected const long BlobLimit = 1024 * 1024;

    private readonly List<IAsyncDisposable> _directories = [];
    private readonly List<IDisposable> _owned = [];

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (IAsyncDisposable directory in _directories)
        {
            await directory.DisposeAsync();
        }

        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
    }

    [SkippableFact]
    public async Task Registration_is_idempotent_for_the_same_identity()
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync();

        await directory.RegisterAsync(device.PublicIdentity);

        IReadOnlyList<DirectoryDevice> listed = await directory.ListDevicesAsync(device.User);
        Assert.Equal(device.Device, Assert.Single(listed).Device);
    }

    [SkippableFact]
    public async Task Registration_with_another_identity_for_a_taken_device_id_is_a_conflict()
    {
        (DirectoryTestDevice device, _) = await RegisteredAsync();
        DirectoryTestDevice impostor = Own(new DirectoryTestDevice(device.User, device.Device));
        IRelayDirectory directory = await ConnectOwnedAsync(impostor);

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.RegisterAsync(impostor.PublicIdentity));

        Assert.Equal(TelehealthErrorCode.RelayRejected, refused.ErrorCode);
        Assert.Equal(409, refused.StatusCode);
        Assert.Equal("device_conflict", refused.ProblemCode);
    }

    [SkippableFact]
    public async Task Registration_of_an_identity_whose_binding_does_not_verify_is_refused_and_stores_nothing()
    {
        DirectoryTestDevice device = Own(new DirectoryTestDevice());
        DirectoryTestDevice other = Own(new DirectoryTestDevice());
        IRelayDirectory directory = await ConnectOwnedAsync(device);
        var unbound = new IdentityKey(device.PublicIdentity.SigningKey, other.PublicIdentity.AgreementKey, device.PublicIdentity.BindingSignature);

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.RegisterAsync(unbound));

        Assert.Equal(400, refused.StatusCode);
        Assert.Equal("invalid_key_binding", refused.ProblemCode);
        await AssertUnknownDeviceAsync(() => directory.ListDevicesAsync(device.User));
    }

    [SkippableFact]
    public async Task Calls_from_an_unregistered_device_are_refused()
    {
        DirectoryTestDevice device = Own(new DirectoryTestDevice());
        IRelayDirectory directory = await ConnectOwnedAsync(device);

        await AssertUnknownDeviceAsync(() => directory.ListDevicesAsync(device.User));
        await AssertUnknownDeviceAsync(() => directory.PublishKeysAsync(device.Publication()));
    }

    [SkippableFact]
    public async Task Listing_shows_a_users_devices_with_published_envelope_keys_only()
    {
        var user = UserId.New();
        (DirectoryTestDevice published, IRelayDirectory directory) = await RegisteredAsync(user);
        (DirectoryTestDevice silent, _) = await RegisteredAsync(user, publish: false);
        await RegisteredAsync(); // another user's device

        IReadOnlyList<DirectoryDevice> listed = await directory.ListDevicesAsync(user);

        DirectoryDevice only = Assert.Single(listed);
        Assert.Equal(user, only.User);
        Assert.Equal(published.Device, only.Device);
        Assert.Equal(published.PublicIdentity, only.Identity);
        Assert.Equal(published.EnvelopeKeys.Current.Encode(), only.EnvelopeKey.Encode());
        only.EnvelopeKey.Verify(only.Identity, only.Device);
        Assert.DoesNotContain(listed, d => d.Device == silent.Device);
    }

    [SkippableFact]
    public async Task Listing_an_unknown_user_is_empty()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();

        Assert.Empty(await directory.ListDevicesAsync(UserId.New()));
    }

    [SkippableFact]
    public async Task Publishing_an_envelope_key_signed_for_another_device_is_refused_and_stores_nothing()
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync(publish: false);
        SignedEnvelopeKey current = device.EnvelopeKeys.Current;
        SignedEnvelopeKey forAnotherDevice = SignedEnvelopeKey.Create(device.Identity, DeviceId.New(), current.Id, current.CreatedAt, current.PublicKey);
        DeviceKeyPublication valid = device.Publication();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.PublishKeysAsync(valid with { EnvelopeKey = forAnotherDevice }));

        Assert.Equal(400, refused.StatusCode);
        Assert.Equal("invalid_envelope_key", refused.ProblemCode);
        Assert.Empty(await directory.ListDevicesAsync(device.User));
        await AssertNotFoundAsync(() => directory.ClaimBundleAsync(device.User, device.Device));
    }

    [SkippableFact]
    public async Task Publishing_prekeys_signed_by_another_identity_is_refused_and_stores_nothing()
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync(publish: false);
        DirectoryTestDevice other = Own(new DirectoryTestDevice());
        DeviceKeyPublication valid = device.Publication();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.PublishKeysAsync(valid with
        {
            OneTimePrekeys = other.Prekeys.OneTimePrekeys.ToList(),
        }));

        Assert.Equal(400, refused.StatusCode);
        Assert.Equal("invalid_prekey", refused.ProblemCode);
        Assert.Empty(await directory.ListDevicesAsync(device.User));
        await AssertNotFoundAsync(() => directory.ClaimBundleAsync(device.User, device.Device));
    }

    [SkippableFact]
    public async Task Publishing_a_prekey_in_the_wrong_role_is_refused()
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync(publish: false);
        DeviceKeyPublication valid = device.Publication();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.PublishKeysAsync(valid with { LastResortKemPrekey = valid.OneTimePrekeys.First(p => p.Kind == PrekeyKind.OneTimeMLKem768) }));

        Assert.Equal(400, refused.StatusCode);
        Assert.Equal("invalid_prekey", refused.ProblemCode);
    }

    [SkippableFact]
    public async Task Each_one_time_prekey_goes_to_one_claimer_then_the_last_resort_kem_prekey_is_served()
    {
        (DirectoryTestDevice bob, _) = await RegisteredAsync();
        (_, IRelayDirectory alice) = await RegisteredAsync();
        int oneTimeCount = DirectoryTestDevice.FewPrekeys.OneTimePrekeyBatchSize;
        int kemCount = DirectoryTestDevice.FewPrekeys.KemOneTimePrekeyBatchSize;

        var bundles = new List<DirectoryBundle>();
        for (int i = 0; i < oneTimeCount + 1; i++)
        {
            bundles.Add(await alice.ClaimBundleAsync(bob.User, bob.Device));
        }

        Assert.Equal(oneTimeCount, bundles.Select(b => b.Bundle.OneTimePrekey?.Id).OfType<uint>().Distinct().Count());
        Assert.Null(bundles[^1].Bundle.OneTimePrekey);
        Assert.Equal(kemCount, bundles.Take(kemCount).Select(b => b.Bundle.KemPrekey).Where(k => k.Kind == PrekeyKind.OneTimeMLKem768).Select(k => k.Id).Distinct().Count());
        Assert.All(bundles.Skip(kemCount), b => Assert.Equal(bob.Prekeys.CurrentLastResortPrekey.Id, b.Bundle.KemPrekey.Id));
        Assert.All(bundles.Skip(kemCount), b => Assert.Equal(PrekeyKind.LastResortMLKem768, b.Bundle.KemPrekey.Kind));
    }

    [SkippableFact]
    public async Task A_claimed_bundle_verifies_and_carries_the_published_keys()
    {
        (DirectoryTestDevice bob, _) = await RegisteredAsync();
        (_, IRelayDirectory alice) = await RegisteredAsync();

        DirectoryBundle claimed = await alice.ClaimBundleAsync(bob.User, bob.Device);

        claimed.Bundle.Verify();
        claimed.Device.EnvelopeKey.Verify(claimed.Device.Identity, bob.Device);
        Assert.Equal(bob.User, claimed.Device.User);
        Assert.Equal(bob.Device, claimed.Device.Device);
        Assert.Equal(bob.PublicIdentity, claimed.Bundle.Identity);
        Assert.Equal(DirectoryKeys.Encode(bob.Prekeys.CurrentSignedPrekey), DirectoryKeys.Encode(claimed.Bundle.SignedPrekey));
        Assert.Contains(DirectoryKeys.Encode(claimed.Bundle.OneTimePrekey!), bob.Prekeys.OneTimePrekeys.Select(DirectoryKeys.Encode));
    }

    [SkippableFact]
    public async Task Claiming_a_bundle_of_an_unknown_device_or_under_the_wrong_user_is_not_found()
    {
        (DirectoryTestDevice bob, _) = await RegisteredAsync();
        (_, IRelayDirectory alice) = await RegisteredAsync();

        await AssertNotFoundAsync(() => alice.ClaimBundleAsync(bob.User, DeviceId.New()));
        await AssertNotFoundAsync(() => alice.ClaimBundleAsync(UserId.New(), bob.Device));
    }

    [SkippableFact]
    public async Task Republishing_adds_one_time_prekeys_again_and_replaces_the_signed_prekey()
    {
        (DirectoryTestDevice bob, IRelayDirectory bobDirectory) = await RegisteredAsync();
        (_, IRelayDirectory alice) = await RegisteredAsync();
        for (int i = 0; i < DirectoryTestDevice.FewPrekeys.OneTimePrekeyBatchSize; i++)
        {
            await alice.ClaimBundleAsync(bob.User, bob.Device);
        }

        Assert.Null((await alice.ClaimBundleAsync(bob.User, bob.Device)).Bundle.OneTimePrekey);
        await bobDirectory.PublishKeysAsync(bob.Publication());

        Assert.NotNull((await alice.ClaimBundleAsync(bob.User, bob.Device)).Bundle.OneTimePrekey);
    }

    [SkippableFact]
    public async Task A_device_revokes_another_device_of_its_user_which_leaves_listings_and_is_refused_afterwards()
    {
        var user = UserId.New();
        (_, IRelayDirectory phone) = await RegisteredAsync(user);
        (DirectoryTestDevice lost, IRelayDirectory lostDirectory) = await RegisteredAsync(user);
        var clinic = ClinicId.New();
        await lostDirectory.JoinClinicAsync(clinic);

        await phone.RevokeDeviceAsync(lost.Device);

        Assert.DoesNotContain(await phone.ListDevicesAsync(user), d => d.Device == lost.Device);
        Assert.Empty(await phone.ListClinicDevicesAsync(clinic));
        await AssertNotFoundAsync(() => phone.ClaimBundleAsync(user, lost.Device));
        await AssertUnknownDeviceAsync(() => lostDirectory.ListDevicesAsync(user));
    }

    [SkippableFact]
    public async Task A_revoked_device_id_cannot_be_registered_again()
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync();
        await directory.RevokeDeviceAsync(device.Device);

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.RegisterAsync(device.PublicIdentity));

        Assert.Equal(409, refused.StatusCode);
        Assert.Equal("device_revoked", refused.ProblemCode);
    }

    [SkippableFact]
    public async Task A_device_cannot_revoke_another_users_device()
    {
        (DirectoryTestDevice victim, _) = await RegisteredAsync();
        (_, IRelayDirectory attacker) = await RegisteredAsync();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => attacker.RevokeDeviceAsync(victim.Device));

        Assert.Equal(403, refused.StatusCode);
        Assert.Equal("not_own_device", refused.ProblemCode);
        Assert.Single(await attacker.ListDevicesAsync(victim.User));
    }

    [SkippableFact]
    public async Task Revoking_an_unknown_device_is_not_found()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();

        await AssertNotFoundAsync(() => directory.RevokeDeviceAsync(DeviceId.New()));
    }

    [SkippableFact]
    public async Task Clinic_devices_join_list_and_leave()
    {
        var clinic = ClinicId.New();
        (DirectoryTestDevice nurse, IRelayDirectory nurseDirectory) = await RegisteredAsync();
        (DirectoryTestDevice doctor, IRelayDirectory doctorDirectory) = await RegisteredAsync();
        (_, IRelayDirectory patient) = await RegisteredAsync();

        await nurseDirectory.JoinClinicAsync(clinic);
        await doctorDirectory.JoinClinicAsync(clinic);
        await doctorDirectory.JoinClinicAsync(clinic);
        IReadOnlyList<DirectoryDevice> both = await patient.ListClinicDevicesAsync(clinic);
        await nurseDirectory.LeaveClinicAsync(clinic);
        await nurseDirectory.LeaveClinicAsync(clinic);
        IReadOnlyList<DirectoryDevice> remaining = await patient.ListClinicDevicesAsync(clinic);

        Assert.Equal(new[] { nurse.Device, doctor.Device }.OrderBy(d => d.Value, StringComparer.Ordinal), both.Select(d => d.Device));
        Assert.Contains(both, d => d.Device == doctor.Device && d.User == doctor.User && d.Identity.Equals(doctor.PublicIdentity));
        Assert.Equal(doctor.Device, Assert.Single(remaining).Device);
        Assert.Empty(await patient.ListClinicDevicesAsync(ClinicId.New()));
    }

    [SkippableFact]
    public async Task The_first_claim_of_a_work_item_wins_and_every_later_claim_returns_it()
    {
        var clinic = ClinicId.New();
        (DirectoryTestDevice first, IRelayDirectory firstDirectory) = await MemberAsync(clinic);
        (_, IRelayDirectory secondDirectory) = await MemberAsync(clinic);

        WorkItemClaim won = await firstDirectory.ClaimWorkItemAsync(clinic, "intake-1");
        WorkItemClaim lost = await secondDirectory.ClaimWorkItemAsync(clinic, "intake-1");
        WorkItemClaim again = await firstDirectory.ClaimWorkItemAsync(clinic, "intake-1");

        Assert.Equal(("intake-1", first.User, first.Device, true), (won.ItemId, won.ClaimedBy, won.ClaimedByDevice, won.IsOwn));
        Assert.Equal((first.User, first.Device, won.ClaimedAt, false), (lost.ClaimedBy, lost.ClaimedByDevice, lost.ClaimedAt, lost.IsOwn));
        Assert.Equal(won, again);
    }

    [SkippableFact]
    public async Task Work_items_are_claimed_per_clinic_and_item()
    {
        var clinic = ClinicId.New();
        var otherClinic = ClinicId.New();
        (_, IRelayDirectory first) = await MemberAsync(clinic);
        (DirectoryTestDevice second, IRelayDirectory secondDirectory) = await MemberAsync(clinic);
        await secondDirectory.JoinClinicAsync(otherClinic);

        await first.ClaimWorkItemAsync(clinic, "item-1");

        Assert.True((await secondDirectory.ClaimWorkItemAsync(clinic, "item-2")).IsOwn);
        Assert.Equal(second.Device, (await secondDirectory.ClaimWorkItemAsync(otherClinic, "item-1")).ClaimedByDevice);
    }

    [SkippableFact]
    public async Task Concurrent_claims_from_three_member_devices_have_one_winner_that_everyone_sees()
    {
        var clinic = ClinicId.New();
        var members = new List<(DirectoryTestDevice Device, IRelayDirectory Directory)>();
        for (int i = 0; i < 3; i++)
        {
            members.Add(await MemberAsync(clinic));
        }

        WorkItemClaim[] claims = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => members[i % 3].Directory.ClaimWorkItemAsync(clinic, "callback-7"))));

        Assert.Single(claims.Select(c => (c.ClaimedBy, c.ClaimedByDevice, c.ClaimedAt)).Distinct());
        DeviceId winner = claims[0].ClaimedByDevice;
        Assert.Contains(members, m => m.Device.Device == winner);
        for (int i = 0; i < claims.Length; i++)
        {
            Assert.Equal(members[i % 3].Device.Device == winner, claims[i].IsOwn);
        }
    }

    [SkippableFact]
    public async Task A_device_outside_the_clinic_cannot_claim_its_work_items()
    {
        var clinic = ClinicId.New();
        (_, IRelayDirectory member) = await MemberAsync(clinic);
        (_, IRelayDirectory outsider) = await RegisteredAsync();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => outsider.ClaimWorkItemAsync(clinic, "intake-9"));

        Assert.Equal(403, refused.StatusCode);
        Assert.Equal("not_clinic_member", refused.ProblemCode);
        Assert.True((await member.ClaimWorkItemAsync(clinic, "intake-9")).IsOwn);
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    public async Task Claiming_an_invalid_item_id_is_an_argument_error(string itemId)
    {
        var clinic = ClinicId.New();
        (_, IRelayDirectory member) = await MemberAsync(clinic);

        await Assert.ThrowsAsync<ArgumentException>(() => member.ClaimWorkItemAsync(clinic, itemId));
    }

    [SkippableFact]
    public async Task A_blob_round_trips_with_progress_reported_up_to_its_length()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();
        byte[] ciphertext = RandomNumberGenerator.GetBytes(300_000);
        string blobId = NewBlobId();
        var progress = new RecordingProgress();

        await directory.UploadBlobAsync(blobId, new MemoryStream(ciphertext), ciphertext.Length, progress);
        await using Stream download = await directory.DownloadBlobAsync(blobId);
        using var copy = new MemoryStream();
        await download.CopyToAsync(copy);

        Assert.Equal(ciphertext, copy.ToArray());
        long[] reports = progress.Reports.ToArray();
        Assert.Equal(ciphertext.Length, reports[^1]);
        Assert.True(reports.Length > 1, "Progress was reported only once.");
        Assert.Equal(reports.Order(), reports);
    }

    [SkippableFact]
    public async Task A_blob_from_a_stream_that_cannot_seek_round_trips()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();
        byte[] ciphertext = RandomNumberGenerator.GetBytes(200_000);
        string blobId = NewBlobId();
        var progress = new RecordingProgress();

        await directory.UploadBlobAsync(blobId, new ForwardOnlyStream(ciphertext), ciphertext.Length, progress);
        await using Stream download = await directory.DownloadBlobAsync(blobId);
        using var copy = new MemoryStream();
        await download.CopyToAsync(copy);

        Assert.Equal(ciphertext, copy.ToArray());
        Assert.Equal(ciphertext.Length, progress.Reports.Last());
    }

    [SkippableFact]
    public async Task Blobs_are_write_once()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();
        string blobId = NewBlobId();
        await directory.UploadBlobAsync(blobId, new MemoryStream([1, 2, 3]), 3);

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.UploadBlobAsync(blobId, new MemoryStream([4, 5, 6]), 3));

        Assert.Equal(409, refused.StatusCode);
        Assert.Equal("blob_exists", refused.ProblemCode);
        await using Stream download = await directory.DownloadBlobAsync(blobId);
        Assert.Equal(1, download.ReadByte());
    }

    [SkippableFact]
    public async Task A_blob_over_the_relay_limit_is_refused_and_not_stored()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();
        string blobId = NewBlobId();

        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => directory.UploadBlobAsync(blobId, new MemoryStream(new byte[BlobLimit + 1]), BlobLimit + 1));

        Assert.Equal(413, refused.StatusCode);
        await AssertNotFoundAsync(() => directory.DownloadBlobAsync(blobId));
    }

    [SkippableFact]
    public async Task Downloading_an_unknown_blob_is_not_found()
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();

        await AssertNotFoundAsync(() => directory.DownloadBlobAsync(NewBlobId()));
    }

    [SkippableTheory]
    [InlineData("short")]
    [InlineData("has.dots.in.it.and-long-enough")]
    [InlineData("../../etc/passwd-and-so-on")]
    public async Task Invalid_blob_ids_are_argument_errors(string blobId)
    {
        (_, IRelayDirectory directory) = await RegisteredAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => directory.UploadBlobAsync(blobId, new MemoryStream([1]), 1));
        await Assert.ThrowsAsync<ArgumentException>(() => directory.DownloadBlobAsync(blobId));
    }

    [SkippableFact]
    public async Task Two_messengers_set_up_a_session_from_what_the_directory_returns()
    {
        await using MessengerDevice alice = await MessengerDevice.CreateAsync(this);
        await using MessengerDevice bob = await MessengerDevice.CreateAsync(this);
        byte[] plaintext = Encoding.UTF8.GetBytes("directory end-to-end check");

        DirectoryDevice listed = Assert.Single(await alice.Directory.ListDevicesAsync(bob.Messenger.User));
        DirectoryBundle claimed = await alice.Directory.ClaimBundleAsync(listed.User, listed.Device);
        var recipient = new EnvelopeRecipient(claimed.Device.User, claimed.Device.Device, claimed.Device.Identity, claimed.Device.EnvelopeKey, claimed.Bundle);
        var sealedEnvelopes = await alice.Messenger.SealAsync([recipient], plaintext);
        OpenedEnvelope opened = await bob.Messenger.OpenAsync(Assert.Single(sealedEnvelopes).Envelope);

        Assert.Equal(plaintext, opened.Plaintext);
        Assert.Equal(alice.Messenger.User, opened.SenderUser);
        Assert.Equal(alice.Messenger.Device, opened.SenderDevice);
        Assert.True(opened.IsFirstContact);
    }

    /// <summary>Connects <paramref name="device"/> to the relay under test, without registering it.</summary>
    private protected abstract Task<IRelayDirectory> ConnectAsync(UserId user, DeviceId device, Func<ReadOnlyMemory<byte>, byte[]> signer);

    private protected T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private protected async Task<IRelayDirectory> ConnectOwnedAsync(DirectoryTestDevice device)
    {
        IRelayDirectory directory = await ConnectAsync(device.User, device.Device, device.Signer);
        _directories.Add(directory);
        return directory;
    }

    private protected async Task<(DirectoryTestDevice Device, IRelayDirectory Directory)> RegisteredAsync(UserId? user = null, bool publish = true)
    {
        DirectoryTestDevice device = Own(new DirectoryTestDevice(user));
        IRelayDirectory directory = await ConnectOwnedAsync(device);
        await directory.RegisterAsync(device.PublicIdentity);
        if (publish)
        {
            await directory.PublishKeysAsync(device.Publication());
        }

        return (device, directory);
    }

    private protected async Task<(DirectoryTestDevice Device, IRelayDirectory Directory)> MemberAsync(ClinicId clinic)
    {
        (DirectoryTestDevice device, IRelayDirectory directory) = await RegisteredAsync();
        await directory.JoinClinicAsync(clinic);
        return (device, directory);
    }

    private protected static string NewBlobId() => Guid.NewGuid().ToString("N");

    private protected static async Task AssertNotFoundAsync(Func<Task> call)
    {
        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(call);
        Assert.Equal(TelehealthErrorCode.NotFound, refused.ErrorCode);
        Assert.Equal(404, refused.StatusCode);
    }

    private protected static async Task AssertUnknownDeviceAsync(Func<Task> call)
    {
        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(call);
        Assert.Equal(TelehealthErrorCode.RelayRejected, refused.ErrorCode);
        Assert.Equal(401, refused.StatusCode);
        Assert.Equal("unknown_device", refused.ProblemCode);
    }

    /// <summary>Records reports synchronously (<see cref="Progress{T}"/> would post them to the thread pool, out of order).</summary>
    private sealed class RecordingProgress : IProgress<long>
    {
        public ConcurrentQueue<long> Reports { get; } = new();

        public void Report(long value) => Reports.Enqueue(value);
    }

    /// <summary>A stream that reads forward only, like a network or decryption stream.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data, writable: false);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A <see cref="SecureMessenger"/> on in-memory stores, registered and published through the directory.</summary>
    private sealed class MessengerDevice : IAsyncDisposable
    {
        private readonly DeviceIdentity _signingIdentity;

        private MessengerDevice(SecureMessenger messenger, DeviceIdentity signingIdentity, IRelayDirectory directory)
        {
            Messenger = messenger;
            _signingIdentity = signingIdentity;
            Directory = directory;
        }

        public SecureMessenger Messenger { get; }

        public IRelayDirectory Directory { get; }

        public static async Task<MessengerDevice> CreateAsync(RelayDirectoryContractTests suite)
        {
            var keys = new InMemoryKeyStore();
            SecureMessenger messenger = await SecureMessenger.LoadOrCreateAsync(UserId.New(), DeviceId.New(), keys, new InMemorySessionStore(), new SecureMessengerOptions { Prekeys = DirectoryTestDevice.FewPrekeys }, TimeProvider.System);

            // The messenger keeps its private identity to itself; the stored record signs relay requests as an app's signer would.
            DeviceIdentity signing = DeviceIdentity.Import((await keys.GetAsync(KeyRecordName.Identity))!);
            IRelayDirectory directory = await suite.ConnectAsync(messenger.User, messenger.Device, data => signing.Sign(data.Span));
            await directory.RegisterAsync(messenger.Identity);
            await directory.PublishKeysAsync(PublicationOf(messenger));
            return new MessengerDevice(messenger, signing, directory);
        }

        public async ValueTask DisposeAsync()
        {
            await Directory.DisposeAsync();
            Messenger.Dispose();
            _signingIdentity.Dispose();
        }

        /// <summary>
        /// What the messenger publishes. It exposes no last-resort prekey directly, so this finds the one
        /// <see cref="SecureMessenger.CreateBundle"/> accepts by id that is not a one-time prekey.
        /// </summary>
        private static DeviceKeyPublication PublicationOf(SecureMessenger messenger)
        {
            IReadOnlyList<PublicPrekey> oneTime = messenger.OneTimePrekeys();
            PrekeyBundle current = messenger.CreateBundle();
            PublicPrekey? lastResort = null;
            for (uint id = 1; lastResort is null && id < 1000; id++)
            {
                try
                {
                    PublicPrekey kem = messenger.CreateBundle(kemPrekeyId: id).KemPrekey;
                    lastResort = kem.Kind == PrekeyKind.LastResortMLKem768 ? kem : null;
                }
                catch (ArgumentException)
                {
                    // Not an ML-KEM prekey id this device holds.
                }
            }

            return new DeviceKeyPublication(messenger.CurrentEnvelopeKey, current.SignedPrekey, lastResort!, oneTime);
        }
    }
}
