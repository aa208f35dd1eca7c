using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// The ceiling of this stack on this machine: ASP.NET Core speaking the relay's wire protocol (POST /v1/messages or
/// send frames in, WebSocket push frames out, ack frames taken) with no storage, no signature checks and no bookkeeping. The same
/// client transports drive it as drive the relay, so relay ÷ ceiling measures what storage and authentication cost.
/// An envelope for a device with no open socket is dropped, as a forwarder without storage must; the load run
/// connects every recipient before it sends.
/// </summary>
internal static class CeilingServer
{
    public static async Task RunAsync(string urls)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        WebApplication app = builder.Build();
        app.UseWebSockets();
        var sockets = new ConcurrentDictionary<string, Connection>(StringComparer.Ordinal);

        app.MapGet("/health", () => Results.Text("ok"));
        app.MapPost("/v1/messages", async (HttpContext http) =>
        {
            using JsonDocument request = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            return Results.Bytes(Forward(sockets, request.RootElement, null), "application/json");
        });
        app.MapGet("/v1/ws", async (HttpContext http) =>
        {
            string? device = http.Request.Headers["X-Telehealth-Device"];
            if (!http.WebSockets.IsWebSocketRequest || string.IsNullOrEmpty(device))
            {
                return Results.BadRequest();
            }

            using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync();
            var connection = new Connection(socket, sockets);
            sockets[device] = connection;
            try
            {
                await connection.RunAsync(http.RequestAborted);
            }
            finally
            {
                sockets.TryRemove(new KeyValuePair<string, Connection>(device, connection));
            }

            return Results.Empty;
        });

        await app.RunAsync();
    }

    /// <summary>
    /// Pushes each envelope of a submission to its recipient's socket and answers with every envelope "stored": the
    /// relay's POST /v1/messages response, or its "sent" frame when <paramref name="request"/> is a send frame's token.
    /// </summary>
    private static byte[] Forward(ConcurrentDictionary<string, Connection> sockets, JsonElement submission, string? request)
    {
        using var response = new MemoryStream();
        using (var writer = new Utf8JsonWriter(response))
        {
            writer.WriteStartObject();
            if (request is not null)
            {
                writer.WriteString("type", "sent");
                writer.WriteString("request", request);
            }

            writer.WriteStartArray("results");
            foreach (JsonElement envelope in submission.GetProperty("envelopes").EnumerateArray())
            {
                string id = envelope.GetProperty("id").GetString()!;
                string recipient = envelope.GetProperty("recipientDeviceId").GetString()!;
                byte[] data = envelope.GetProperty("data").GetBytesFromBase64();
                if (sockets.TryGetValue(recipient, out Connection? connection))
                {
                    connection.Push(id, data);
                }

                writer.WriteStartObject();
                writer.WriteString("id", id);
                writer.WriteString("recipientDeviceId", recipient);
                writer.WriteString("status", "stored");
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return response.ToArray();
    }

    private sealed class Connection(WebSocket socket, ConcurrentDictionary<string, Connection> sockets)
    {
        private readonly Channel<byte[]> _frames = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        private long _cursor;

        public void Push(string id, byte[] data)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("type", "envelope");
                writer.WriteString("cursor", Interlocked.Increment(ref _cursor).ToString(CultureInfo.InvariantCulture));
                writer.WriteString("id", id);
                writer.WriteBase64String("data", data);
                writer.WriteEndObject();
            }

            _frames.Writer.TryWrite(buffer.ToArray());
        }

        public async Task RunAsync(CancellationToken ct)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task receiving = ReadIncomingAsync(stop.Token);
            try
            {
                while (await _frames.Reader.WaitToReadAsync(stop.Token))
                {
                    while (_frames.Reader.TryRead(out byte[]? frame))
                    {
                        await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, stop.Token);
                    }
                }
            }
            catch (Exception error) when (error is WebSocketException or OperationCanceledException)
            {
                // The client went away.
            }
            finally
            {
                await stop.CancelAsync();
                try
                {
                    await receiving;
                }
                catch (Exception error) when (error is WebSocketException or OperationCanceledException)
                {
                }
            }
        }

        /// <summary>
        /// Forwards send frames (answering each on this socket) and drops ack frames until the client closes; a close
        /// ends the push loop too.
        /// </summary>
        private async Task ReadIncomingAsync(CancellationToken ct)
        {
            byte[] buffer = new byte[64 * 1024];
            while (true)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _frames.Writer.TryComplete();
                    return;
                }

                using JsonDocument frame = JsonDocument.Parse(buffer.AsMemory(0, length));
                if (frame.RootElement.GetProperty("type").GetString() == "send")
                {
                    _frames.Writer.TryWrite(Forward(sockets, frame.RootElement, frame.RootElement.GetProperty("request").GetString()));
                }
            }
        }
    }
}
