using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>Signs requests exactly as the client SDK will, through the shared <see cref="RelayRequestSignature"/>.</summary>
internal sealed class RelayTestClient(Uri baseAddress, TimeProvider clock) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = baseAddress };

    public Uri BaseAddress => baseAddress;

    /// <summary>Sends a request signed by <paramref name="signer"/> (or unsigned when null), optionally tampering with the signature inputs.</summary>
    public async Task<RelayResponse> SendAsync(
        HttpMethod method,
        string pathAndQuery,
        TestDevice? signer,
        byte[]? body = null,
        DateTimeOffset? signedAt = null,
        RelaySignatureHeaders? headersOverride = null,
        Func<RelaySignatureHeaders, RelaySignatureHeaders>? tamper = null,
        string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, new Uri(baseAddress, pathAndQuery));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        RelaySignatureHeaders? headers = headersOverride;
        if (headers is null && signer is not null)
        {
            headers = RelayRequestSignature.Sign(signer.IdentityKey, signer.DeviceId, method.Method, request.RequestUri!.PathAndQuery, signedAt ?? clock.GetUtcNow(), RelayRequestSignature.DigestHex(body ?? []));
        }

        if (headers is not null)
        {
            headers = tamper?.Invoke(headers) ?? headers;
            AddHeaders(request.Headers, headers);
        }

        using HttpResponseMessage response = await _http.SendAsync(request);
        byte[] content = await response.Content.ReadAsByteArrayAsync();
        return new RelayResponse(response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta, content, headers);
    }

    public Task<RelayResponse> PostJsonAsync(string path, TestDevice? signer, object json) =>
        SendAsync(HttpMethod.Post, path, signer, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(json)));

    public async Task<RelayResponse> RegisterAsync(TestDevice device, TestDevice? signer = null, byte[]? agreementSignature = null)
    {
        byte[] agreement = device.AgreementKey.PublicKey.ToArray();
        return await PostJsonAsync("/v1/devices", signer ?? device, new
        {
            userId = device.UserId.Value,
            deviceId = device.DeviceId.Value,
            identityKey = device.IdentityKey.PublicKey.ToArray(),
            agreementKey = agreement,
            agreementKeySignature = agreementSignature ?? device.BindingSignature,
        });
    }

    public Task<RelayResponse> SubmitAsync(TestDevice sender, params (string Id, TestDevice Recipient, byte[] Data)[] envelopes) =>
        PostJsonAsync("/v1/messages", sender, new
        {
            envelopes = envelopes.Select(e => new { id = e.Id, recipientDeviceId = e.Recipient.DeviceId.Value, data = e.Data }).ToArray(),
        });

    public async Task<(List<(long Cursor, string Id, byte[] Data)> Envelopes, long Cursor)> FetchAsync(TestDevice device, long after = 0)
    {
        RelayResponse response = await SendAsync(HttpMethod.Get, $"/v1/messages?after={after}", device);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        JsonNode json = response.Json();
        var envelopes = json["envelopes"]!.AsArray()
            .Select(e => (long.Parse(e!["cursor"]!.GetValue<string>()), e["id"]!.GetValue<string>(), Convert.FromBase64String(e["data"]!.GetValue<string>())))
            .ToList();
        return (envelopes, long.Parse(json["cursor"]!.GetValue<string>()));
    }

    public Task<RelayResponse> AcknowledgeAsync(TestDevice device, params string[] ids) =>
        PostJsonAsync("/v1/messages/ack", device, new { ids });

    public async Task<ClientWebSocket> ConnectAsync(TestDevice device, long after = 0)
    {
        var socket = new ClientWebSocket();
        string path = $"/v1/ws?after={after}";
        RelaySignatureHeaders headers = RelayRequestSignature.Sign(device.IdentityKey, device.DeviceId, "GET", path, clock.GetUtcNow(), RelayRequestSignature.EmptyBodyDigest);
        socket.Options.SetRequestHeader(RelayRequestSignature.DeviceHeader, headers.Device);
        socket.Options.SetRequestHeader(RelayRequestSignature.TimestampHeader, headers.Timestamp);
        socket.Options.SetRequestHeader(RelayRequestSignature.NonceHeader, headers.Nonce);
        socket.Options.SetRequestHeader(RelayRequestSignature.SignatureHeader, headers.Signature);
        var uri = new UriBuilder(new Uri(baseAddress, path)) { Scheme = "ws" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None);
        return socket;
    }

    public void Dispose() => _http.Dispose();

    private static void AddHeaders(HttpRequestHeaders target, RelaySignatureHeaders headers)
    {
        target.TryAddWithoutValidation(RelayRequestSignature.DeviceHeader, headers.Device);
        target.TryAddWithoutValidation(RelayRequestSignature.TimestampHeader, headers.Timestamp);
        target.TryAddWithoutValidation(RelayRequestSignature.NonceHeader, headers.Nonce);
        target.TryAddWithoutValidation(RelayRequestSignature.SignatureHeader, headers.Signature);
    }
}

internal sealed record RelayResponse(HttpStatusCode Status, string? MediaType, TimeSpan? RetryAfter, byte[] Body, RelaySignatureHeaders? SentHeaders)
{
    public JsonNode Json() => JsonNode.Parse(Body)!;

    /// <summary>The problem+json <c>code</c> member; fails the test when the answer is not problem+json.</summary>
    public string ProblemCode()
    {
        Assert.Equal("application/problem+json", MediaType);
        return Json()["code"]!.GetValue<string>();
    }

    public override string ToString() => $"{(int)Status} {MediaType} {Encoding.UTF8.GetString(Body)}";
}

/// <summary>Reads the relay's WebSocket frames.</summary>
internal static class WebSocketFrames
{
    public static async Task<JsonNode> ReceiveAsync(this ClientWebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1024 * 1024];
        int length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), cts.Token) is var r ? new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage) : null!;
            length += result.Count;
        }
        while (!result.EndOfMessage);

        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return JsonNode.Parse(buffer.AsSpan(0, length))!;
    }

    /// <summary>Reads until the relay closes the socket; returns the close status it sent.</summary>
    public static async Task<WebSocketCloseStatus?> ReceiveCloseAsync(this ClientWebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return socket.CloseStatus;
            }
        }
    }

    public static Task SendAckAsync(this ClientWebSocket socket, params string[] ids) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "ack", ids }), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Sends <paramref name="json"/> as one text frame, exactly as written (also when it is not valid JSON).</summary>
    public static Task SendJsonAsync(this ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>A <c>send</c> frame: the envelopes as POST /v1/messages takes them, with the request token.</summary>
    public static Task SendEnvelopesAsync(this ClientWebSocket socket, string request, params (string Id, TestDevice Recipient, byte[] Data)[] envelopes) =>
        socket.SendAsync(
            JsonSerializer.SerializeToUtf8Bytes(new
            {
                type = "send",
                request,
                envelopes = envelopes.Select(e => new { id = e.Id, recipientDeviceId = e.Recipient.DeviceId.Value, data = e.Data }).ToArray(),
            }),
            WebSocketMessageType.Text,
            true,
            CancellationToken.None);

    /// <summary>
    /// Reads frames until the answer (<c>sent</c> or <c>refused</c>) to <paramref name="request"/>, skipping pushed
    /// envelopes and other answers; fails the test when the socket closes first.
    /// </summary>
    public static async Task<JsonNode> ReceiveAnswerAsync(this ClientWebSocket socket, string request, TimeSpan timeout)
    {
        while (true)
        {
            JsonNode frame = await socket.ReceiveAsync(timeout);
            if (frame["type"]!.GetValue<string>() is "sent" or "refused" && frame["request"]!.GetValue<string>() == request)
            {
                return frame;
            }
        }
    }
}
