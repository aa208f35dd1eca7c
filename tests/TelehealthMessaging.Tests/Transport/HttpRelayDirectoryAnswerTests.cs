using System.Net;
using System.Text;
using System.Text.Json;
using NSubstitute;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Tests.Transport.DirectoryContract;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

// The relay is not trusted with keys: whatever it (or something pretending to be it) answers, the HTTP directory
// returns only keys that verify for the device asked about, and fails with a typed error otherwise.
public sealed class HttpRelayDirectoryAnswerTests : IDisposable
{
    private readonly DirectoryTestDevice _bob = new();
    private readonly DirectoryTestDevice _mallory = new();

    public void Dispose()
    {
        _bob.Dispose();
        _mallory.Dispose();
    }

    [Fact]
    public async Task A_listed_device_is_returned_with_its_verified_keys()
    {
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, Listing(DeviceJson(_bob)));

        DirectoryDevice listed = Assert.Single(await directory.ListDevicesAsync(_bob.User));

        Assert.Equal((_bob.User, _bob.Device), (listed.User, listed.Device));
        Assert.Equal(_bob.PublicIdentity, listed.Identity);
        Assert.Equal(_bob.EnvelopeKeys.Current.Encode(), listed.EnvelopeKey.Encode());
    }

    [Fact]
    public async Task A_listed_envelope_key_signed_by_another_identity_is_refused()
    {
        Dictionary<string, object> forged = DeviceJson(_bob);
        forged["envelopeKey"] = SignedEnvelopeKey.Create(_mallory.Identity, _bob.Device, 9, 0, _mallory.EnvelopeKeys.Current.PublicKey).Encode();
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, Listing(forged));

        CryptographicFailureException error = await Assert.ThrowsAsync<CryptographicFailureException>(() => directory.ListDevicesAsync(_bob.User));

        Assert.Equal(CryptographicFailureReason.InvalidSignature, error.Reason);
    }

    [Fact]
    public async Task A_listed_identity_whose_binding_does_not_verify_is_refused()
    {
        Dictionary<string, object> forged = DeviceJson(_bob);
        forged["agreementKey"] = _mallory.PublicIdentity.AgreementKey.ToArray();
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, Listing(forged));

        await Assert.ThrowsAsync<CryptographicFailureException>(() => directory.ListDevicesAsync(_bob.User));
    }

    [Fact]
    public async Task A_listing_of_another_users_device_is_an_invalid_format_error()
    {
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, Listing(DeviceJson(_mallory)));

        RelayRequestException error = await Assert.ThrowsAsync<RelayRequestException>(() => directory.ListDevicesAsync(_bob.User));

        Assert.Equal(TelehealthErrorCode.InvalidFormat, error.ErrorCode);
    }

    [Fact]
    public async Task A_bundle_of_another_device_than_the_one_claimed_is_an_invalid_format_error()
    {
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, BundleJson(_mallory));

        RelayRequestException error = await Assert.ThrowsAsync<RelayRequestException>(() => directory.ClaimBundleAsync(_bob.User, _bob.Device));

        Assert.Equal(TelehealthErrorCode.InvalidFormat, error.ErrorCode);
    }

    [Fact]
    public async Task A_bundle_whose_prekey_is_signed_by_another_identity_is_refused()
    {
        Dictionary<string, object> bundle = BundleJson(_bob);
        bundle["signedPrekey"] = DirectoryKeys.Encode(_mallory.Prekeys.CurrentSignedPrekey);
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, bundle);

        await Assert.ThrowsAsync<CryptographicFailureException>(() => directory.ClaimBundleAsync(_bob.User, _bob.Device));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"devices":[{"userId":"u1"}]}""")]
    [InlineData("""{"devices":[{"userId":"u1","deviceId":"d1","identityKey":"%%%","agreementKey":"","agreementKeySignature":"","envelopeKey":""}]}""")]
    [InlineData("""{"items":[]}""")]
    public async Task A_malformed_listing_is_an_invalid_format_error(string body)
    {
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, body);

        RelayRequestException error = await Assert.ThrowsAsync<RelayRequestException>(() => directory.ListDevicesAsync(new UserId("u1")));

        Assert.Equal(TelehealthErrorCode.InvalidFormat, error.ErrorCode);
        Assert.False(error.IsTransient);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "bundle_not_found", TelehealthErrorCode.NotFound, false)]
    [InlineData(HttpStatusCode.Conflict, "device_conflict", TelehealthErrorCode.RelayRejected, false)]
    [InlineData(HttpStatusCode.Forbidden, "not_clinic_member", TelehealthErrorCode.RelayRejected, false)]
    [InlineData(HttpStatusCode.TooManyRequests, "rate_limited", TelehealthErrorCode.RateLimited, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, "not_ready", TelehealthErrorCode.RelayUnavailable, true)]
    public async Task Refusals_map_to_error_codes_with_the_problem_code(HttpStatusCode status, string code, TelehealthErrorCode expected, bool transient)
    {
        IRelayDirectory directory = DirectoryAnswering(status, $$"""{"type":"about:blank","status":{{(int)status}},"code":"{{code}}"}""");

        RelayRequestException error = await Assert.ThrowsAsync<RelayRequestException>(() => directory.ClaimBundleAsync(_bob.User, _bob.Device));

        Assert.Equal((expected, code, (int?)(int)status, transient), (error.ErrorCode, error.ProblemCode, error.StatusCode, error.IsTransient));
    }

    [Fact]
    public async Task A_work_item_claim_answer_names_the_winner_and_whether_it_is_this_device()
    {
        var answer = new { itemId = "intake-1", userId = _bob.User.Value, deviceId = _bob.Device.Value, claimedAt = "2026-01-02T03:04:05.678+00:00" };
        IRelayDirectory directory = DirectoryAnswering(HttpStatusCode.OK, JsonSerializer.Serialize(answer));

        WorkItemClaim claim = await directory.ClaimWorkItemAsync(ClinicId.New(), "intake-1");

        Assert.Equal(("intake-1", _bob.User, _bob.Device, false), (claim.ItemId, claim.ClaimedBy, claim.ClaimedByDevice, claim.IsOwn));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), claim.ClaimedAt);
    }

    [Fact]
    public void An_http_endpoint_without_a_request_signer_is_an_argument_error()
    {
        var options = new RelayTransportOptions { Endpoint = new Uri("https://relay.example/"), Device = DeviceId.New() };

        Assert.Throws<ArgumentException>(() => RelayDirectory.Create(options, UserId.New()));
    }

    private static IRelayDirectory DirectoryAnswering(HttpStatusCode status, object body)
    {
        string text = body as string ?? JsonSerializer.Serialize(body);
        var factory = Substitute.For<IHttpClientFactory>();
        factory.CreateClient(RelayTransport.HttpClientName).Returns(_ => new HttpClient(new CannedHandler(status, text)));
        var options = new RelayTransportOptions { Endpoint = new Uri("http://127.0.0.1:9/"), Device = DeviceId.New(), RequestSigner = _ => new byte[64] };
        return RelayDirectory.Create(options, UserId.New(), factory);
    }

    private static object Listing(Dictionary<string, object> device) => new { devices = new[] { device } };

    private static Dictionary<string, object> DeviceJson(DirectoryTestDevice device) => new()
    {
        ["userId"] = device.User.Value,
        ["deviceId"] = device.Device.Value,
        ["identityKey"] = device.PublicIdentity.SigningKey.ToArray(),
        ["agreementKey"] = device.PublicIdentity.AgreementKey.ToArray(),
        ["agreementKeySignature"] = device.PublicIdentity.BindingSignature.ToArray(),
        ["envelopeKey"] = device.EnvelopeKeys.Current.Encode(),
    };

    private static Dictionary<string, object> BundleJson(DirectoryTestDevice device) => new()
    {
        ["device"] = DeviceJson(device),
        ["signedPrekey"] = DirectoryKeys.Encode(device.Prekeys.CurrentSignedPrekey),
        ["kemPrekey"] = new { keyId = device.Prekeys.CurrentLastResortPrekey.Id, key = DirectoryKeys.Encode(device.Prekeys.CurrentLastResortPrekey) },
        ["kemPrekeyIsLastResort"] = true,
    };

    private sealed class CannedHandler(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
