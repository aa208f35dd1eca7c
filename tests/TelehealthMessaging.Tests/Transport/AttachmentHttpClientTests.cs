using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using NSubstitute;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

// Attachments can be large: their transfers must not be held to the 10-second attempt and 30-second total timeouts
// that suit the relay's small JSON calls.
public sealed class AttachmentHttpClientTests
{
    [Fact]
    public void Attachment_transfers_get_long_timeouts_while_relay_calls_keep_the_standard_ones()
    {
        using ServiceProvider services = new ServiceCollection().AddRelayTransportHttpClient().Services.BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<HttpStandardResilienceOptions>>();

        HttpStandardResilienceOptions attachments = monitor.Get(RelayTransport.AttachmentHttpClientName + "-standard");
        HttpStandardResilienceOptions calls = monitor.Get(RelayTransport.HttpClientName + "-standard");

        Assert.Equal(RelayTransportServiceCollectionExtensions.AttachmentAttemptTimeout, attachments.AttemptTimeout.Timeout);
        Assert.Equal(RelayTransportServiceCollectionExtensions.AttachmentTotalTimeout, attachments.TotalRequestTimeout.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(10), calls.AttemptTimeout.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), calls.TotalRequestTimeout.Timeout);
        Assert.True(attachments.AttemptTimeout.Timeout >= TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task The_directory_sends_blobs_through_the_attachment_client_and_everything_else_through_the_relay_client()
    {
        var calls = new RecordingHandler();
        var blobs = new RecordingHandler();
        var factory = Substitute.For<IHttpClientFactory>();
        factory.CreateClient(RelayTransport.HttpClientName).Returns(_ => new HttpClient(calls, disposeHandler: false));
        factory.CreateClient(RelayTransport.AttachmentHttpClientName).Returns(_ => new HttpClient(blobs, disposeHandler: false));
        var options = new RelayTransportOptions { Endpoint = new Uri("http://127.0.0.1:9/"), Device = DeviceId.New(), RequestSigner = _ => new byte[64] };
        await using IRelayDirectory directory = RelayDirectory.Create(options, UserId.New(), factory);

        await directory.UploadBlobAsync("attachment-blob-0001", new MemoryStream([1, 2, 3]), 3);
        await using (Stream _ = await directory.DownloadBlobAsync("attachment-blob-0001"))
        {
        }

        await directory.RevokeDeviceAsync(DeviceId.New());

        Assert.Equal(["PUT /v1/attachments/attachment-blob-0001", "GET /v1/attachments/attachment-blob-0001"], blobs.Requests);
        Assert.Single(calls.Requests);
        Assert.StartsWith("DELETE ", calls.Requests[0], StringComparison.Ordinal);
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add($"{request.Method} {request.RequestUri!.AbsolutePath}");
            return Task.FromResult(new HttpResponseMessage(request.Method == HttpMethod.Get ? HttpStatusCode.OK : HttpStatusCode.NoContent) { Content = new ByteArrayContent([]) });
        }
    }
}
