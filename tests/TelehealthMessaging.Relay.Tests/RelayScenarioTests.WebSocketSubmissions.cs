using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Relay.Tests.Transport;

namespace TelehealthMessaging.Relay.Tests;

/// <summary>
/// Submissions framed on the authenticated WebSocket (<c>{"type":"send"}</c>): the same checks, limits and
/// idempotency as POST /v1/messages, answered on the socket with the client's request token.
/// </summary>
public abstract partial class RelayScenarioTests
{
    [SkippableFact]
    public async Task WebSocket_send_frame_is_stored_pushed_to_the_recipients_socket_and_answered_with_its_token()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] first = bob.SealedEnvelope();
        byte[] second = bob.SealedEnvelope();
        using ClientWebSocket bobSocket = await client.ConnectAsync(bob);
        using ClientWebSocket aliceSocket = await client.ConnectAsync(alice);

        await aliceSocket.SendEnvelopesAsync("req-1", ("m1", bob, first), ("m2", bob, second));
        JsonNode answer = await aliceSocket.ReceiveAsync(Timeout);
        JsonNode pushedFirst = await bobSocket.ReceiveAsync(Timeout);
        JsonNode pushedSecond = await bobSocket.ReceiveAsync(Timeout);

        Assert.Equal("sent", answer["type"]!.GetValue<string>());
        Assert.Equal("req-1", answer["request"]!.GetValue<string>());
        Assert.Equal(
            [("m1", bob.DeviceId.Value, "stored"), ("m2", bob.DeviceId.Value, "stored")],
            answer["results"]!.AsArray().Select(r => (r!["id"]!.GetValue<string>(), r["recipientDeviceId"]!.GetValue<string>(), r["status"]!.GetValue<string>())));
        Assert.Equal(("envelope", "m1"), (pushedFirst["type"]!.GetValue<string>(), pushedFirst["id"]!.GetValue<string>()));
        Assert.Equal(first, Convert.FromBase64String(pushedFirst["data"]!.GetValue<string>()));
        Assert.Equal(("envelope", "m2"), (pushedSecond["type"]!.GetValue<string>(), pushedSecond["id"]!.GetValue<string>()));
        Assert.Equal(second, Convert.FromBase64String(pushedSecond["data"]!.GetValue<string>()));
        var (stored, _) = await client.FetchAsync(bob);
        Assert.Equal(["m1", "m2"], stored.Select(e => e.Id));
        Assert.Equal([first, second], stored.Select(e => e.Data));
    }

    [SkippableFact]
    public async Task WebSocket_resubmission_over_the_socket_or_over_HTTP_is_answered_duplicate_and_delivered_once()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        byte[] overSocket = bob.SealedEnvelope();
        byte[] overHttp = bob.SealedEnvelope();
        using ClientWebSocket bobSocket = await client.ConnectAsync(bob);
        using ClientWebSocket aliceSocket = await client.ConnectAsync(alice);

        await aliceSocket.SendEnvelopesAsync("first", ("ws-1", bob, overSocket));
        JsonNode first = await aliceSocket.ReceiveAnswerAsync("first", Timeout);
        await aliceSocket.SendEnvelopesAsync("again", ("ws-1", bob, overSocket));
        JsonNode again = await aliceSocket.ReceiveAnswerAsync("again", Timeout);
        RelayResponse againOverHttp = await client.SubmitAsync(alice, ("ws-1", bob, overSocket));
        RelayResponse storedOverHttp = await client.SubmitAsync(alice, ("http-1", bob, overHttp));
        await aliceSocket.SendEnvelopesAsync("http-again", ("http-1", bob, overHttp), ("http-1", bob, overHttp));
        JsonNode httpAgain = await aliceSocket.ReceiveAnswerAsync("http-again", Timeout);
        // A last envelope marks the end of the stream: anything pushed twice would arrive before it.
        await client.SubmitAsync(alice, ("marker", bob, bob.SealedEnvelope()));
        var pushed = new List<string>();
        while (pushed.LastOrDefault() != "marker")
        {
            pushed.Add((await bobSocket.ReceiveAsync(Timeout))["id"]!.GetValue<string>());
        }

        Assert.Equal(["stored"], Statuses(first));
        Assert.Equal(["duplicate"], Statuses(again));
        Assert.Equal("duplicate", againOverHttp.Json()["results"]![0]!["status"]!.GetValue<string>());
        Assert.Equal("stored", storedOverHttp.Json()["results"]![0]!["status"]!.GetValue<string>());
        Assert.Equal(["duplicate", "duplicate"], Statuses(httpAgain));
        Assert.Equal(["ws-1", "http-1", "marker"], pushed);
        Assert.Equal(["ws-1", "http-1", "marker"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Pipelined_WebSocket_send_frames_are_each_answered_with_their_own_token_and_all_stored_once()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o => o.RateLimitBurst = o.RateLimitPerSecond = 10_000);
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using ClientWebSocket aliceSocket = await client.ConnectAsync(alice);
        const int Frames = 40; // more than the relay handles at once on one socket

        for (int i = 0; i < Frames; i++)
        {
            await aliceSocket.SendEnvelopesAsync($"r{i}", ($"m{i}", bob, bob.SealedEnvelope()));
        }

        var answers = new Dictionary<string, JsonNode>();
        while (answers.Count < Frames)
        {
            JsonNode answer = await aliceSocket.ReceiveAsync(Timeout);
            Assert.True(answers.TryAdd(answer["request"]!.GetValue<string>(), answer), "answered twice: " + answer.ToJsonString());
        }

        for (int i = 0; i < Frames; i++)
        {
            JsonNode answer = answers[$"r{i}"];
            Assert.Equal("sent", answer["type"]!.GetValue<string>());
            Assert.Equal($"m{i}", answer["results"]![0]!["id"]!.GetValue<string>());
            Assert.Equal("stored", answer["results"]![0]!["status"]!.GetValue<string>());
        }

        var (stored, _) = await client.FetchAsync(bob);
        Assert.Equal(Enumerable.Range(0, Frames).Select(i => $"m{i}").Order(StringComparer.Ordinal), stored.Select(e => e.Id).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string, string, int, string> BadSendFrames()
    {
        string toBob = "\"id\":\"m1\",\"recipientDeviceId\":\"{R}\"";
        return new()
        {
            { "no envelopes member", "", 400, "invalid_field" },
            { "empty batch", "\"envelopes\":[]", 400, "invalid_field" },
            { "invalid message id", "\"envelopes\":[{\"id\":\"a/b\",\"recipientDeviceId\":\"{R}\",\"data\":\"{VALID}\"}]", 400, "invalid_field" },
            { "missing recipient", "\"envelopes\":[{\"id\":\"m1\",\"data\":\"{VALID}\"}]", 400, "invalid_field" },
            { "missing data", "\"envelopes\":[{" + toBob + "}]", 400, "invalid_field" },
            { "null envelope", "\"envelopes\":[null]", 400, "invalid_field" },
            { "truncated envelope", "\"envelopes\":[{" + toBob + ",\"data\":\"{TRUNCATED}\"}]", 400, "invalid_envelope" },
            { "garbage envelope", "\"envelopes\":[{" + toBob + ",\"data\":\"{GARBAGE}\"}]", 400, "invalid_envelope" },
            { "unknown envelope version", "\"envelopes\":[{" + toBob + ",\"data\":\"{VERSION2}\"}]", 400, "unknown_envelope_version" },
            { "header names another recipient", "\"envelopes\":[{" + toBob + ",\"data\":\"{OTHER}\"}]", 400, "recipient_mismatch" },
            { "a good envelope then a mismatched one", "\"envelopes\":[{" + toBob + ",\"data\":\"{VALID}\"},{\"id\":\"m2\",\"recipientDeviceId\":\"{R}\",\"data\":\"{OTHER}\"}]", 400, "recipient_mismatch" },
            { "oversized envelope", "\"envelopes\":[{" + toBob + ",\"data\":\"{HUGE}\"}]", 413, "too_large" },
            { "batch over the limit", "\"envelopes\":[{FOUR}]", 413, "too_large" },
            { "unregistered recipient", "\"envelopes\":[{" + toBob + ",\"data\":\"{VALID}\"},{\"id\":\"u1\",\"recipientDeviceId\":\"{U}\",\"data\":\"{UNREGISTERED}\"}]", 404, "unknown_recipient" },
            { "a recipient's mailbox is full", "\"envelopes\":[{" + toBob + ",\"data\":\"{VALID}\"},{\"id\":\"c1\",\"recipientDeviceId\":\"{C}\",\"data\":\"{CAROL}\"}]", 429, "mailbox_full" },
        };
    }

    [SkippableTheory]
    [MemberData(nameof(BadSendFrames))]
    public async Task Bad_WebSocket_send_frames_are_refused_with_the_problem_code_store_nothing_and_the_socket_stays_usable(string _, string members, int status, string code)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o =>
        {
            o.MaxEnvelopeBytes = 1024;
            o.MaxBatchEnvelopes = 3;
            o.MaxPendingPerMailbox = 1;
        });
        await using RelayServer __ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        TestDevice carol = await RegisteredAsync(client);
        using var unregistered = new TestDevice();
        // Carol's mailbox is at its limit of one.
        Assert.Equal(HttpStatusCode.OK, (await client.SubmitAsync(alice, ("c0", carol, carol.SealedEnvelope()))).Status);
        byte[] validEnvelope = bob.SealedEnvelope();
        byte[] version2 = (byte[])validEnvelope.Clone();
        version2[0] = 2;
        string envelopes = members
            .Replace("{FOUR}", string.Join(',', Enumerable.Range(0, 4).Select(i => $"{{\"id\":\"b{i}\",\"recipientDeviceId\":\"{{R}}\",\"data\":\"{Convert.ToBase64String(bob.SealedEnvelope())}\"}}")))
            .Replace("{R}", bob.DeviceId.Value)
            .Replace("{U}", unregistered.DeviceId.Value)
            .Replace("{C}", carol.DeviceId.Value)
            .Replace("{VALID}", Convert.ToBase64String(validEnvelope))
            .Replace("{TRUNCATED}", Convert.ToBase64String(validEnvelope.AsSpan(0, validEnvelope.Length - 40)))
            .Replace("{GARBAGE}", Convert.ToBase64String([1, .. Encoding.UTF8.GetBytes("~definitely not a sealed envelope, just text that is long enough")]))
            .Replace("{VERSION2}", Convert.ToBase64String(version2))
            .Replace("{OTHER}", Convert.ToBase64String(unregistered.SealedEnvelope()))
            .Replace("{UNREGISTERED}", Convert.ToBase64String(unregistered.SealedEnvelope()))
            .Replace("{CAROL}", Convert.ToBase64String(carol.SealedEnvelope()))
            .Replace("{HUGE}", Convert.ToBase64String(bob.SealedEnvelope(2048)));
        using ClientWebSocket socket = await client.ConnectAsync(alice);

        await socket.SendJsonAsync("{\"type\":\"send\",\"request\":\"bad-1\"" + (envelopes.Length > 0 ? "," + envelopes : "") + "}");
        JsonNode refused = await socket.ReceiveAnswerAsync("bad-1", Timeout);
        var (bobMailbox, _) = await client.FetchAsync(bob);
        var (carolMailbox, _) = await client.FetchAsync(carol);
        await socket.SendEnvelopesAsync("good-1", ("g1", bob, bob.SealedEnvelope()));
        JsonNode sent = await socket.ReceiveAnswerAsync("good-1", Timeout);

        Assert.Equal("refused", refused["type"]!.GetValue<string>());
        Assert.Equal(status, refused["status"]!.GetValue<int>());
        Assert.Equal(code, refused["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(refused["title"]!.GetValue<string>()));
        // Only a full mailbox says when to try again (as its Retry-After header does over HTTP).
        Assert.Equal(status == 429 ? 60 : null, refused["retryAfter"]?.GetValue<int>());
        Assert.Empty(bobMailbox);
        Assert.Equal(["c0"], carolMailbox.Select(e => e.Id));
        Assert.Equal("sent", sent["type"]!.GetValue<string>());
        Assert.Equal(["g1"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    public static TheoryData<string, string> MalformedFrames() => new()
    {
        { "an empty frame", "" },
        { "not JSON", "{\"type\":\"send\",\"request\":\"r1\",\"envelopes\":[{VALID}" },
        { "a JSON array", "[{VALID}]" },
        { "no type", "{\"request\":\"r1\",\"envelopes\":[{VALID}]}" },
        { "an unknown type", "{\"type\":\"submit\",\"request\":\"r1\",\"envelopes\":[{VALID}]}" },
        { "a send without a request token", "{\"type\":\"send\",\"envelopes\":[{VALID}]}" },
        { "a send with an empty request token", "{\"type\":\"send\",\"request\":\"\",\"envelopes\":[{VALID}]}" },
        { "a send with an invalid request token", "{\"type\":\"send\",\"request\":\"r/1\",\"envelopes\":[{VALID}]}" },
        { "a send whose request token is a number", "{\"type\":\"send\",\"request\":1,\"envelopes\":[{VALID}]}" },
        { "a send that also carries ack ids", "{\"type\":\"send\",\"request\":\"r1\",\"ids\":[\"m0\"],\"envelopes\":[{VALID}]}" },
        { "a send with an unknown member", "{\"type\":\"send\",\"request\":\"r1\",\"envelopes\":[{VALID}],\"priority\":1}" },
        { "data that is not base64", "{\"type\":\"send\",\"request\":\"r1\",\"envelopes\":[{\"id\":\"m1\",\"recipientDeviceId\":\"{R}\",\"data\":\"!!notbase64!!\"}]}" },
        { "an ack that also carries envelopes", "{\"type\":\"ack\",\"ids\":[\"m0\"],\"envelopes\":[{VALID}]}" },
        { "envelopes that are not an array", "{\"type\":\"send\",\"request\":\"r1\",\"envelopes\":{VALID}}" },
        { "an envelope with an unknown member", "{\"type\":\"send\",\"request\":\"r1\",\"envelopes\":[{\"id\":\"m1\",\"recipientDeviceId\":\"{R}\",\"data\":\"AAAA\",\"priority\":1}]}" },
        { "ack ids that are not an array", "{\"type\":\"ack\",\"ids\":\"m0\"}" },
        { "ack ids that are not strings", "{\"type\":\"ack\",\"ids\":[1]}" },
    };

    [SkippableTheory]
    [MemberData(nameof(MalformedFrames))]
    public async Task Malformed_WebSocket_frames_close_the_socket_with_invalid_payload_data_and_store_nothing(string _, string template)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer __ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        string valid = $"{{\"id\":\"m1\",\"recipientDeviceId\":\"{bob.DeviceId}\",\"data\":\"{Convert.ToBase64String(bob.SealedEnvelope())}\"}}";
        using ClientWebSocket socket = await client.ConnectAsync(alice);

        await socket.SendJsonAsync(template.Replace("{VALID}", valid).Replace("{R}", bob.DeviceId.Value));

        // Alice's mailbox is empty: the first thing the relay sends must be the close, with no answer before it.
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await FirstFrameIsCloseAsync(socket));
        Assert.Empty((await client.FetchAsync(bob)).Envelopes);
    }

    [SkippableTheory]
    [InlineData(1024)] // the frame limit is then 64 KiB, the relay's frame buffer
    [InlineData(262_144)]
    [InlineData(100_000)] // not a power of two: the pool hands out a larger buffer than the limit
    public async Task WebSocket_send_frames_up_to_the_frame_limit_are_taken_and_a_larger_one_closes_the_socket_with_message_too_big(int maxRequestBodyBytes)
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(o =>
        {
            o.MaxRequestBodyBytes = maxRequestBodyBytes;
            o.MaxEnvelopeBytes = 1024 * 1024;
        });
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        int frameLimit = Math.Max(64 * 1024, maxRequestBodyBytes);
        byte[] fits = SendFrameOfSize(bob, "fits", "m1", frameLimit - 1000);
        byte[] tooLarge = SendFrameOfSize(bob, "too-large", "m2", frameLimit + 1000);
        using ClientWebSocket socket = await client.ConnectAsync(alice);

        await socket.SendAsync(fits, WebSocketMessageType.Text, true, CancellationToken.None);
        JsonNode sent = await socket.ReceiveAnswerAsync("fits", Timeout);
        await socket.SendAsync(tooLarge, WebSocketMessageType.Text, true, CancellationToken.None);

        Assert.Equal("sent", sent["type"]!.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await FirstFrameIsCloseAsync(socket));
        Assert.Equal(["m1"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task A_host_authorizer_refusing_submissions_answers_each_WebSocket_send_frame_403_and_nothing_is_stored()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync(services: s => s.AddSingleton<IRelayAuthorizer>(new RefuseSubmissions()));
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using ClientWebSocket socket = await client.ConnectAsync(alice);

        await socket.SendEnvelopesAsync("r1", ("m1", bob, bob.SealedEnvelope()));
        JsonNode first = await socket.ReceiveAnswerAsync("r1", Timeout);
        await socket.SendEnvelopesAsync("r2", ("m2", bob, bob.SealedEnvelope()));
        JsonNode second = await socket.ReceiveAnswerAsync("r2", Timeout);

        Assert.All([first, second], refused =>
        {
            Assert.Equal("refused", refused["type"]!.GetValue<string>());
            Assert.Equal(403, refused["status"]!.GetValue<int>());
            Assert.Equal("forbidden", refused["code"]!.GetValue<string>());
        });
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.Empty((await client.FetchAsync(bob)).Envelopes);
    }

    [SkippableFact]
    public async Task WebSocket_send_frames_over_the_devices_rate_limit_are_refused_429_rate_limited_with_retry_after_and_not_stored()
    {
        // The bucket refills once a second in real time; six frames at once outrun a burst of three however slow the machine.
        (RelayServer server, RelayTestClient client) = await StartAsync(o =>
        {
            o.RateLimitBurst = 3;
            o.RateLimitPerSecond = 1;
        });
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using ClientWebSocket socket = await client.ConnectAsync(alice); // registration and upgrade each spend a token
        const int Frames = 6;

        for (int i = 0; i < Frames; i++)
        {
            await socket.SendEnvelopesAsync($"r{i}", ($"m{i}", bob, bob.SealedEnvelope()));
        }

        var answers = new List<JsonNode>();
        for (int i = 0; i < Frames; i++)
        {
            answers.Add(await socket.ReceiveAsync(Timeout));
        }

        List<JsonNode> refused = answers.Where(a => a["type"]!.GetValue<string>() == "refused").ToList();
        List<string> sent = answers.Where(a => a["type"]!.GetValue<string>() == "sent").Select(a => a["results"]![0]!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(Frames, refused.Count + sent.Count);
        Assert.True(refused.Count >= Frames - 3, $"{refused.Count} of {Frames} frames refused");
        Assert.All(refused, r =>
        {
            Assert.Equal(429, r["status"]!.GetValue<int>());
            Assert.Equal("rate_limited", r["code"]!.GetValue<string>());
            Assert.True(r["retryAfter"]!.GetValue<int>() >= 1);
        });
        Assert.Equal(sent.Order(StringComparer.Ordinal), (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id).Order(StringComparer.Ordinal));
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [SkippableFact]
    public async Task A_revoked_devices_WebSocket_send_frames_are_refused_or_its_socket_closed_and_nothing_is_stored()
    {
        (RelayServer server, RelayTestClient client) = await StartAsync();
        await using RelayServer _ = server;
        var user = UserId.New();
        TestDevice phone = await RegisteredAsync(client, user);
        TestDevice stolen = await RegisteredAsync(client, user);
        TestDevice bob = await RegisteredAsync(client);
        using ClientWebSocket socket = await client.ConnectAsync(stolen);
        await socket.SendEnvelopesAsync("before", ("m0", bob, bob.SealedEnvelope()));
        Assert.Equal("sent", (await socket.ReceiveAnswerAsync("before", Timeout))["type"]!.GetValue<string>());

        RelayResponse revoked = await client.SendAsync(HttpMethod.Delete, $"/v1/users/{user}/devices/{stolen.DeviceId}", phone);
        await socket.SendEnvelopesAsync("after", ("m1", bob, bob.SealedEnvelope()));

        Assert.Equal(HttpStatusCode.NoContent, revoked.Status);
        // The relay may answer the frame before its close goes out, or drop it behind the close: never store it.
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(Timeout);
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            JsonNode frame = JsonNode.Parse(buffer.AsSpan(0, result.Count))!;
            Assert.Equal("refused", frame["type"]!.GetValue<string>());
            Assert.Equal(("after", 401, "unknown_device"), (frame["request"]!.GetValue<string>(), frame["status"]!.GetValue<int>(), frame["code"]!.GetValue<string>()));
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal(["m0"], (await client.FetchAsync(bob)).Envelopes.Select(e => e.Id));
    }

    private static List<string> Statuses(JsonNode answer)
    {
        Assert.Equal("sent", answer["type"]!.GetValue<string>());
        return answer["results"]!.AsArray().Select(r => r!["status"]!.GetValue<string>()).ToList();
    }

    /// <summary>A send frame of exactly <paramref name="size"/> bytes holding one envelope for <paramref name="recipient"/>.</summary>
    private static byte[] SendFrameOfSize(TestDevice recipient, string request, string id, int size)
    {
        string Frame(byte[] envelope) =>
            $"{{\"type\":\"send\",\"request\":\"{request}\",\"envelopes\":[{{\"id\":\"{id}\",\"recipientDeviceId\":\"{recipient.DeviceId}\",\"data\":\"{Convert.ToBase64String(envelope)}\"}}]}}";

        // Base64 makes 4 characters of 3 bytes; the padding of spaces after the JSON (allowed) makes the size exact.
        int overhead = Frame([]).Length;
        int headerAndKey = recipient.SealedEnvelope(0).Length;
        string frame = Frame(recipient.SealedEnvelope(((size - overhead) / 4 * 3) - headerAndKey));
        Assert.InRange(frame.Length, size - 4, size);
        return Encoding.UTF8.GetBytes(frame.PadRight(size));
    }

    [SkippableFact]
    public async Task WebSocket_frames_waiting_behind_those_in_flight_do_not_stop_the_relay_reading_the_socket()
    {
        HeldSubmissionsStore? held = null;
        (RelayServer server, RelayTestClient client) = await StartAsync(services: s => HeldSubmissionsStore.Install(s, store => held = store));
        await using RelayServer _ = server;
        TestDevice alice = await RegisteredAsync(client);
        TestDevice bob = await RegisteredAsync(client);
        using ClientWebSocket socket = await client.ConnectAsync(alice);
        try
        {
            // 16 frames in flight (their answers held by the store) and 8 more waiting for a slot.
            for (int i = 0; i < 24; i++)
            {
                await socket.SendEnvelopesAsync($"r{i}", ($"m{i}", bob, bob.SealedEnvelope()));
            }

            await held!.HeldAsync(16).WaitAsync(Timeout);
            await socket.SendJsonAsync("not a frame");

            // Read and refused behind the waiting frames, while none has been answered: the relay went on reading the
            // socket (and so answering the client's pings, which happens only while reading).
            Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await FirstFrameIsCloseAsync(socket));
        }
        finally
        {
            held?.Release();
        }
    }

    private static async Task<WebSocketCloseStatus?> FirstFrameIsCloseAsync(ClientWebSocket socket)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), deadline.Token);
        Assert.True(result.MessageType == WebSocketMessageType.Close, "expected the close, got: " + Encoding.UTF8.GetString(buffer, 0, result.Count));
        return socket.CloseStatus;
    }
}
