using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

// The standard resilience pipeline limits the requests in flight per named client (1,000 by default). A request it
// refuses never reached the relay; the transport must report that as a retryable relay failure, not let Polly's own
// exception escape (it ended a WebSocket receive stream that was resending acknowledgements over HTTP).
public sealed class HttpPipelineLimitTests
{
    [Fact]
    public async Task A_request_refused_by_the_pipelines_concurrency_limit_is_a_transient_RelayRequestException()
    {
        var held = new TaskCompletionSource<HttpResponseMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var services = new ServiceCollection();
        services.AddRelayTransportHttpClient().ConfigurePrimaryHttpMessageHandler(() => new HoldingHandler(held.Task));
        services.Configure<HttpStandardResilienceOptions>(RelayTransport.HttpClientName + "-standard", o =>
        {
            o.RateLimiter.DefaultRateLimiterOptions.PermitLimit = 1;
            o.RateLimiter.DefaultRateLimiterOptions.QueueLimit = 0;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var options = new RelayTransportOptions { Endpoint = new Uri("http://127.0.0.1:9/"), Device = DeviceId.New(), RequestSigner = _ => new byte[64] };
        await using IRelayTransport transport = RelayTransport.Create(options, provider.GetRequiredService<IHttpClientFactory>());
        OutgoingEnvelope[] batch = [new(MessageId.New(), DeviceId.New(), new byte[64])];

        Task first = transport.SendAsync(batch);
        var refused = await Assert.ThrowsAsync<RelayRequestException>(() => transport.SendAsync(batch));
        held.SetResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("{\"results\":[]}") });
        await first;

        Assert.Equal(TelehealthErrorCode.RateLimited, refused.ErrorCode);
        Assert.True(refused.IsTransient);
        Assert.Null(refused.StatusCode);
    }

    private sealed class HoldingHandler(Task<HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer;
    }
}
