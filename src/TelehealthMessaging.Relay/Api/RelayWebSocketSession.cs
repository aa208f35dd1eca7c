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
/// GET /v1/ws?after={cursor}: pushes the device's pending envelopes after the cursor, then new ones as they are
/// stored (woken by <see cref="MailboxSignal"/>, never by polling), and takes <c>{"type":"ack","ids":[…]}</c> frames.
/// </summary>
/// <remarks>
/// Envelopes stay in the store until acknowledged, so a client that reconnects with the last cursor it processed
/// loses nothing; one that reconnects with an older cursor (or none) is sent its unacknowledged envelopes again.
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

        DeviceId device = auth.Device!.DeviceId;
        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = options.WebSocketKeepAliveInterval }).ConfigureAwait(false);
        RelayLog.WebSocketOpened(logger, device.Value, cursor);
        // Server shutdown ends sessions at once instead of holding the host open until its shutdown timeout.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        int pushed = 0;
        int acknowledged = 0;
        string reason = "client closed";
        Task<string> receiving = ReceiveAsync(socket, device, count => Interlocked.Add(ref acknowledged, count), stop.Token);
        try
        {
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                // Take the signal before reading, so a store that commits after the read still wakes us.
                Task wake = signal.NextSignal(device);
                IReadOnlyList<RelayPendingEnvelope> batch = await store.FetchEnvelopesAsync(device, cursor, options.MaxFetchEnvelopes, options.TimeProvider.GetUtcNow(), stop.Token).ConfigureAwait(false);
                foreach (RelayPendingEnvelope envelope in batch)
                {
                    byte[] frame = JsonSerializer.SerializeToUtf8Bytes(
                        new PushFrame("envelope", envelope.Cursor.ToString(CultureInfo.InvariantCulture), envelope.Id.Value, envelope.Data),
                        RelayJsonContext.Default.PushFrame);
                    await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, stop.Token).ConfigureAwait(false);
                    cursor = envelope.Cursor;
                    pushed++;
                }

                if (batch.Count == options.MaxFetchEnvelopes)
                {
                    continue;
                }

                Task finished = await Task.WhenAny(wake, receiving).ConfigureAwait(false);
                if (finished == receiving)
                {
                    break;
                }
            }

            reason = await receiving.ConfigureAwait(false);
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

    private async Task<string> ReceiveAsync(WebSocket socket, DeviceId device, Action<int> onAcknowledged, CancellationToken ct)
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

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string description, CancellationToken ct)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(status, description, ct).ConfigureAwait(false);
        }
    }
}
