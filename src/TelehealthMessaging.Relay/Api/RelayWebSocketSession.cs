using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Api;

/// <summary>
/// GET /v1/ws?after={cursor}[&amp;confirm=acks]: pushes the device's pending envelopes after the cursor, then new ones
/// as they are stored (handed over by <see cref="MailboxSignal"/>, never by polling), and takes
/// <c>{"type":"ack","ids":[…]}</c> frames; with <c>confirm=acks</c> each applied ack frame is answered by
/// <c>{"type":"acked","ids":[…]}</c>.
/// </summary>
/// <remarks>
/// Envelopes stay in the store until acknowledged, so a client that reconnects with the last cursor it processed
/// loses nothing; one that reconnects with an older cursor (or none) is sent its unacknowledged envelopes again.
/// An ack frame in flight when the socket dies may never be applied: the confirmation tells the client which acks it
/// must send again. It is opt-in so that clients reading envelope frames only keep working.
/// </remarks>
internal sealed class RelayWebSocketSession(
    IRelayStore store,
    RelayRequestAuthenticator authenticator,
    RelayApi api,
    MailboxSignal signal,
    RelayOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<RelayWebSocketSession> logger)
{
    private const int MaxClientFrameBytes = 64 * 1024;

    private static readonly TimeSpan RevokedCloseGracePeriod = TimeSpan.FromSeconds(5);

    public async Task<IResult?> RunAsync(HttpContext http)
    {
        CancellationToken ct = http.RequestAborted;
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return RelayProblem.BadRequest("websocket_required", "This endpoint accepts WebSocket upgrade requests only.");
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.Connect, null, null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            RelayLog.Refused(logger, http.Request.Method, "/v1/ws", "-", auth.FailureStatus, auth.FailureCode);
            return auth.Failure;
        }

        if (!RelayApi.TryParseCursor(http.Request.Query["after"], out long cursor))
        {
            return RelayProblem.BadRequest("invalid_query", "after must be a cursor returned by the relay.");
        }

        bool confirmAcks = http.Request.Query["confirm"] == "acks";
        DeviceId device = auth.Device!.DeviceId;
        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = options.WebSocketKeepAliveInterval }).ConfigureAwait(false);
        RelayLog.WebSocketOpened(logger, device.Value, cursor);
        // Server shutdown ends sessions at once instead of holding the host open until its shutdown timeout.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        // The push loop and ack confirmations share the socket, which allows one send at a time.
        using var sendGate = new SemaphoreSlim(1, 1);
        int pushed = 0;
        int acknowledged = 0;
        string reason = "client closed";
        Task<string> receiving = ReceiveAsync(socket, device, count => Interlocked.Add(ref acknowledged, count), confirmAcks ? sendGate : null, stop.Token);
        try
        {
            // Subscribed before the first mailbox read, so that nothing committed after that read is missed.
            using MailboxSubscription subscription = signal.Subscribe(device);
            bool readStore = true;
            // A revocation that committed before the subscription existed closed nobody: the store tells.
            bool revoked = await store.GetDeviceAsync(device, stop.Token).ConfigureAwait(false) is null;
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                if (revoked || subscription.IsClosed)
                {
                    revoked = true;
                    await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "device revoked", CancellationToken.None).ConfigureAwait(false);
                    // The close frame must reach the device before the connection ends; a device that does not
                    // answer it is cut off after a grace period.
                    stop.CancelAfter(RevokedCloseGracePeriod);
                    break;
                }

                if (readStore)
                {
                    IReadOnlyList<RelayPendingEnvelope> batch = await store.FetchEnvelopesAsync(device, cursor, options.MaxFetchEnvelopes, options.TimeProvider.GetUtcNow(), stop.Token).ConfigureAwait(false);
                    foreach (RelayPendingEnvelope envelope in batch)
                    {
                        await PushAsync(socket, sendGate, envelope, stop.Token).ConfigureAwait(false);
                        cursor = envelope.Cursor;
                        pushed++;
                    }

                    readStore = batch.Count == options.MaxFetchEnvelopes;
                    if (readStore)
                    {
                        continue;
                    }
                }

                Task finished = await Task.WhenAny(subscription.WaitAsync(), receiving).ConfigureAwait(false);
                if (finished == receiving)
                {
                    break;
                }

                readStore = subscription.Take(out List<RelayPendingEnvelope> handed);
                foreach (RelayPendingEnvelope envelope in handed)
                {
                    if (envelope.Cursor <= cursor)
                    {
                        // Already pushed by a mailbox read.
                        continue;
                    }

                    if (envelope.Cursor != cursor + 1)
                    {
                        // A gap: something committed in between was not handed to this session; the store has it.
                        readStore = true;
                        break;
                    }

                    await PushAsync(socket, sendGate, envelope, stop.Token).ConfigureAwait(false);
                    cursor = envelope.Cursor;
                    pushed++;
                }
            }

            string received = await receiving.ConfigureAwait(false);
            reason = revoked ? "device revoked" : received;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            reason = ex is OperationCanceledException ? "aborted" : "connection lost";
        }
        catch (DbException)
        {
            // The client reconnects with its cursor; nothing was acknowledged that was not deleted.
            reason = "store unavailable";
            await CloseAsync(socket, WebSocketCloseStatus.InternalServerError, "store unavailable", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            RelayLog.WebSocketClosed(logger, device.Value, pushed, acknowledged, reason);
        }

        return null;
    }

    // confirmGate is the session's send gate when the client asked for ack confirmations; otherwise null.
    private async Task<string> ReceiveAsync(WebSocket socket, DeviceId device, Action<int> onAcknowledged, SemaphoreSlim? confirmGate, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxClientFrameBytes);
        try
        {
            while (true)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == MaxClientFrameBytes)
                    {
                        await CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, "frame too large", ct).ConfigureAwait(false);
                        return "frame too large";
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length, MaxClientFrameBytes - length), ct).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "bye", ct).ConfigureAwait(false);
                    return "client closed";
                }

                ClientFrame? frame = null;
                try
                {
                    frame = JsonSerializer.Deserialize(buffer.AsSpan(0, length), RelayJsonContext.Default.ClientFrame);
                }
                catch (JsonException)
                {
                }

                if (frame is not { Type: "ack" } || !api.TryConvertIds(frame.Ids, out List<MessageId>? ids))
                {
                    await CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, "expected {\"type\":\"ack\",\"ids\":[...]}", ct).ConfigureAwait(false);
                    return "invalid frame";
                }

                onAcknowledged(await api.AcknowledgeAsync(device, ids!, ct).ConfigureAwait(false));
                if (confirmGate is not null)
                {
                    await SendAsync(socket, confirmGate, AckedFrame(ids!), ct).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return ex is OperationCanceledException ? "server stopping" : "connection lost";
        }
        catch (DbException)
        {
            await CloseAsync(socket, WebSocketCloseStatus.InternalServerError, "store unavailable", CancellationToken.None).ConfigureAwait(false);
            return "store unavailable";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task PushAsync(WebSocket socket, SemaphoreSlim gate, RelayPendingEnvelope envelope, CancellationToken ct) =>
        SendAsync(
            socket,
            gate,
            JsonSerializer.SerializeToUtf8Bytes(new PushFrame("envelope", envelope.Cursor.ToString(CultureInfo.InvariantCulture), envelope.Id.Value, envelope.Data), RelayJsonContext.Default.PushFrame),
            ct);

    private static async Task SendAsync(WebSocket socket, SemaphoreSlim gate, byte[] frame, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static byte[] AckedFrame(List<MessageId> ids)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "acked");
            writer.WriteStartArray("ids");
            foreach (MessageId id in ids)
            {
                writer.WriteStringValue(id.Value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string description, CancellationToken ct)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(status, description, ct).ConfigureAwait(false);
        }
    }
}
