using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Tests.Transport.DirectoryContract;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

/// <summary>The directory contract against <see cref="InMemoryRelay"/>, reached through <see cref="RelayDirectory.Create"/> as an app would.</summary>
public sealed class InMemoryRelayDirectoryContractTests : RelayDirectoryContractTests
{
    private readonly string _name = "directory-" + Guid.NewGuid().ToString("N");
    private readonly InMemoryRelay _relay = new() { MaxBlobBytes = BlobLimit };

    public override Task InitializeAsync()
    {
        InMemoryRelay.Register(_name, _relay);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        InMemoryRelay.Unregister(_name);
    }

    private protected override Task<IRelayDirectory> ConnectAsync(UserId user, DeviceId device, Func<ReadOnlyMemory<byte>, byte[]> signer) =>
        Task.FromResult(RelayDirectory.Create(new RelayTransportOptions { Endpoint = new Uri($"memory://{_name}"), Device = device }, user));
}

/// <summary>What only the in-memory directory has: faults, fake time, and its tie to the in-memory mailboxes.</summary>
public sealed class InMemoryRelayDirectoryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryRelay _relay;
    private readonly DirectoryTestDevice _alice;
    private readonly DirectoryTestDevice _bob;

    public InMemoryRelayDirectoryTests()
    {
        _relay = new InMemoryRelay(_time) { EnvelopeTimeToLive = TimeSpan.FromDays(1) };
        _alice = new DirectoryTestDevice(time: _time);
        _bob = new DirectoryTestDevice(time: _time);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public async Task Injected_call_failures_apply_to_directory_calls_and_change_nothing()
    {
        IRelayDirectory directory = await RegisteredAsync(_alice);
        _relay.Faults.FailNextCalls(1);

        RelayRequestException failed = await Assert.ThrowsAsync<RelayRequestException>(() => directory.JoinClinicAsync(ClinicId.New()));

        Assert.True(failed.IsTransient);
        Assert.Equal(TelehealthErrorCode.RelayUnavailable, failed.ErrorCode);
        Assert.Single(await directory.ListDevicesAsync(_alice.User));
    }

    [Fact]
    public async Task A_partitioned_device_cannot_reach_the_directory_until_healed()
    {
        IRelayDirectory directory = await RegisteredAsync(_alice);
        _relay.Faults.Partition(_alice.Device);

        await Assert.ThrowsAsync<RelayRequestException>(() => directory.ListDevicesAsync(_alice.User));
        _relay.Faults.Heal(_alice.Device);

        Assert.Single(await directory.ListDevicesAsync(_alice.User));
    }

    [Fact]
    public async Task Registration_gives_the_device_a_mailbox_and_revocation_deletes_it()
    {
        IRelayDirectory alice = await RegisteredAsync(_alice);
        IRelayDirectory bob = await RegisteredAsync(_bob);
        await using IRelayTransport aliceTransport = _relay.Connect(_alice.Device);
        await using IRelayTransport bobTransport = _relay.Connect(_bob.Device);
        await aliceTransport.SendAsync([TransportTestKit.Envelope(_bob.Device)]);
        Assert.Equal(1, _relay.PendingCount(_bob.Device));

        await bob.RevokeDeviceAsync(_bob.Device);

        Assert.Equal(0, _relay.PendingCount(_bob.Device));
        RelayRequestException refused = await Assert.ThrowsAsync<RelayRequestException>(() => aliceTransport.SendAsync([TransportTestKit.Envelope(_bob.Device)]));
        Assert.Equal("unknown_recipient", refused.ProblemCode);
        Assert.Equal("unknown_device", (await Assert.ThrowsAsync<RelayRequestException>(() => bobTransport.AcknowledgeAsync([MessageId.New()]))).ProblemCode);
        Assert.Single(await alice.ListDevicesAsync(_alice.User));
    }

    [Fact]
    public async Task A_work_item_claim_expires_with_the_envelope_time_to_live()
    {
        var clinic = ClinicId.New();
        IRelayDirectory alice = await RegisteredAsync(_alice);
        IRelayDirectory bob = await RegisteredAsync(_bob);
        await alice.JoinClinicAsync(clinic);
        await bob.JoinClinicAsync(clinic);
        WorkItemClaim first = await alice.ClaimWorkItemAsync(clinic, "intake-1");

        _time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        WorkItemClaim stillFirst = await bob.ClaimWorkItemAsync(clinic, "intake-1");
        _time.Advance(TimeSpan.FromSeconds(1));
        WorkItemClaim afterExpiry = await bob.ClaimWorkItemAsync(clinic, "intake-1");

        Assert.Equal(first.ClaimedByDevice, stillFirst.ClaimedByDevice);
        Assert.Equal(_bob.Device, afterExpiry.ClaimedByDevice);
        Assert.Equal(_time.GetUtcNow(), afterExpiry.ClaimedAt);
    }

    [Fact]
    public async Task A_blob_expires_with_the_envelope_time_to_live()
    {
        IRelayDirectory alice = await RegisteredAsync(_alice);
        string blobId = Guid.NewGuid().ToString("N");
        await alice.UploadBlobAsync(blobId, new MemoryStream([1, 2, 3]), 3);

        _time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(TelehealthErrorCode.NotFound, (await Assert.ThrowsAsync<RelayRequestException>(() => alice.DownloadBlobAsync(blobId))).ErrorCode);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task A_blob_stream_that_does_not_hold_exactly_length_bytes_is_an_argument_error_and_stores_nothing(int declared)
    {
        IRelayDirectory alice = await RegisteredAsync(_alice);
        string blobId = Guid.NewGuid().ToString("N");

        await Assert.ThrowsAsync<ArgumentException>(() => alice.UploadBlobAsync(blobId, new MemoryStream([1, 2, 3]), declared));

        await Assert.ThrowsAsync<RelayRequestException>(() => alice.DownloadBlobAsync(blobId));
    }

    [Fact]
    public async Task A_disposed_directory_refuses_calls()
    {
        IRelayDirectory alice = await RegisteredAsync(_alice);
        await alice.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => alice.ListDevicesAsync(_alice.User));
    }

    [Fact]
    public void Create_refuses_an_unregistered_memory_relay_name()
    {
        var options = new RelayTransportOptions { Endpoint = new Uri("memory://nobody-" + Guid.NewGuid().ToString("N")), Device = DeviceId.New() };

        Assert.Throws<ArgumentException>(() => RelayDirectory.Create(options, UserId.New()));
    }

    [Fact]
    public void Create_refuses_an_unknown_scheme_and_the_default_user()
    {
        var ftp = new RelayTransportOptions { Endpoint = new Uri("ftp://relay.example"), Device = DeviceId.New() };

        Assert.Throws<ArgumentException>(() => RelayDirectory.Create(ftp, UserId.New()));
        Assert.Throws<ArgumentException>(() => RelayDirectory.Create(ftp, default));
    }

    private async Task<IRelayDirectory> RegisteredAsync(DirectoryTestDevice device)
    {
        IRelayDirectory directory = _relay.ConnectDirectory(device.User, device.Device);
        await directory.RegisterAsync(device.PublicIdentity);
        await directory.PublishKeysAsync(device.Publication());
        return directory;
    }
}
