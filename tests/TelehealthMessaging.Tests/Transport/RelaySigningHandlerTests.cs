using System.Net;
using System.Text;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

public sealed class RelaySigningHandlerTests
{
    [Fact]
    public async Task Every_attempt_is_signed_with_a_fresh_nonce_that_verifies()
    {
        using Ed25519PrivateKey key = Ed25519PrivateKey.Generate();
        var device = DeviceId.New();
        byte[] body = Encoding.UTF8.GetBytes("{\"ids\":[\"a\"]}");
        var recorder = new RecordingHandler();
        using var invoker = new HttpMessageInvoker(new RelaySigningHandler { InnerHandler = recorder });
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/messages/ack?x=1");
        request.Options.Set(RelaySigningHandler.SignerKey, new RelayRequestSigner(device, data => key.Sign(data.Span), TimeProvider.System, body));

        // The resilience pipeline resends the same request message on retry.
        (await invoker.SendAsync(request, CancellationToken.None)).Dispose();
        (await invoker.SendAsync(request, CancellationToken.None)).Dispose();

        Assert.Equal(2, recorder.Seen.Count);
        Assert.NotEqual(recorder.Seen[0].Nonce, recorder.Seen[1].Nonce);
        foreach ((string deviceHeader, string timestamp, string nonce, string signature) in recorder.Seen)
        {
            Assert.Equal(device.Value, deviceHeader);
            Assert.True(RelayRequestSignature.TryParseTimestamp(timestamp, out long seconds));
            Assert.True(Base64Url.TryDecode(signature, out byte[]? signatureBytes));
            Assert.True(RelayRequestSignature.Verify(key.PublicKey, "POST", "/v1/messages/ack?x=1", seconds, nonce, RelayRequestSignature.DigestHex(body), signatureBytes));
        }
    }

    [Fact]
    public async Task Requests_without_a_signer_pass_through_unsigned()
    {
        var recorder = new RecordingHandler();
        using var invoker = new HttpMessageInvoker(new RelaySigningHandler { InnerHandler = recorder });
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/health");

        (await invoker.SendAsync(request, CancellationToken.None)).Dispose();

        Assert.False(recorder.LastHadSignature);
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<(string Device, string Timestamp, string Nonce, string Signature)> Seen { get; } = [];

        public bool LastHadSignature { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastHadSignature = request.Headers.Contains(RelayRequestSignature.SignatureHeader);
            if (LastHadSignature)
            {
                Seen.Add((
                    request.Headers.GetValues(RelayRequestSignature.DeviceHeader).Single(),
                    request.Headers.GetValues(RelayRequestSignature.TimestampHeader).Single(),
                    request.Headers.GetValues(RelayRequestSignature.NonceHeader).Single(),
                    request.Headers.GetValues(RelayRequestSignature.SignatureHeader).Single()));
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NoContent));
        }
    }
}
