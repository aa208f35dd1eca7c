using System.Net;
using System.Text;
using NSubstitute;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

// Whatever the relay (or something pretending to be it) answers, the HTTP transport fails with a typed error.
public sealed class HttpRelayAnswerTests
{
    private sealed class CannedHandler(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }

    private static async Task<RelayRequestException> FirstReceiveFails(HttpStatusCode status, string body)
    {
        var factory = Substitute.For<IHttpClientFactory>();
        factory.CreateClient(RelayTransport.HttpClientName).Returns(_ => new HttpClient(new CannedHandler(status, body)));
        var options = new RelayTransportOptions
        {
            Endpoint = new Uri("http://127.0.0.1:9/"),
            Device = DeviceId.New(),
            RequestSigner = _ => new byte[64],
        };
        await using IRelayTransport transport = RelayTransport.Create(options, factory);
        await using IAsyncEnumerator<IncomingEnvelope> stream = transport.ReceiveAsync(null).GetAsyncEnumerator();
        return await Assert.ThrowsAsync<RelayRequestException>(async () => await stream.MoveNextAsync());
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"envelopes":[{"cursor":"1","data":"AAAA"}]}""")]
    [InlineData("""{"envelopes":[{"cursor":"1","id":"m1","data":"%%%"}]}""")]
    [InlineData("""{"envelopes":[{"cursor":1,"id":"m1","data":"AAAA"}]}""")]
    [InlineData("""{"envelopes":[{"cursor":"x","id":"m1","data":"AAAA"}]}""")]
    [InlineData("""{"pages":[]}""")]
    public async Task A_malformed_success_answer_is_an_invalid_format_error(string body)
    {
        RelayRequestException error = await FirstReceiveFails(HttpStatusCode.OK, body);
        Assert.Equal(TelehealthErrorCode.InvalidFormat, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.DoesNotContain("AAAA", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_is_a_non_transient_relay_rejected_error_with_the_problem_code()
    {
        RelayRequestException error = await FirstReceiveFails(HttpStatusCode.Forbidden, """{"type":"about:blank","status":403,"code":"not_your_mailbox"}""");
        Assert.Equal((TelehealthErrorCode.RelayRejected, 403), (error.ErrorCode, error.StatusCode));
        Assert.False(error.IsTransient);
    }
}
