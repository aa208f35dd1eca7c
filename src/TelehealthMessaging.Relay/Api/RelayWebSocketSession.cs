using System.Buffers;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Api;

/// <summary>
/// GET /v1/ws?after={cursor}[&amp;confirm=acks]: pushes the device's pending envelopes after the cursor, then new ones
/// as they are stored (handed over by <see cref="MailboxSignal"/>, never by polling); takes
/// <c>{"type":"ack","ids":[…]}</c> frames (with <c>confirm=acks</c> each applied one is answered by
/// <c>{"type":"acked","ids":[…]}</c>) and <c>{"type":"send","request":"…","envelopes":[…]}</c> frames, each answered
/// by <c>{"type":"sent",…}</c> or <c>{"type":"refused",…}</c> carrying the client's request token.
/// </summary>
/// <remarks>
/// Envelopes stay in the store until acknowledged, so a client that reconnects with the last cursor it processed
/// loses nothing; one that reconnects with an older cursor (or none) is sent its unacknowledged envelopes again.
/// An ack frame in flight when the socket dies may never be applied: the confirmation tells the client which acks it
/// must send again. It is opt-in so that clients reading envelope frames only keep working.
/// A send frame is a submission from the device that signed the upgrade request: the socket is the authentication,
/// so it skips the per-request signature, nonce and device lookup that dominate the cost of a small POST
/// /v1/messages; the host's authorizer and the device's rate limit still run for each one. Its envelopes are checked
/// and stored exactly as POST /v1/messages does, and resubmitting them (over either) is idempotent.
/// </remarks>
internal sealed class RelayWebSocketSession(
    IRelayStore store,
    RelayRequestAuthenticator authenticator,
    RelayApi api,
    MailboxSignal signal,
    RelayOptions options,
    RelayMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<RelayWebSocketSession> logger)
{
    // Every frame is read into a buffer of this size; a larger one (a send batch) grows it up to the request body
    // limit, and the large buffer goes back to the pool once that frame is parsed.
    private const int FrameBufferBytes = 64 * 1024;

    // Frames handled at once per socket, so that a client's pipelined sends share commits.
    private const int MaxFramesInFlight = 16;

    // Frames read beyond those in flight, waiting for a slot: the socket goes on being read (and the client's pings
    // answered, which happens only while reading) until these are reached; only then does TCP push back on the client.
    // Not reading at all at the in-flight limit left keep-alive pings unanswered under load, so clients declared
    // healthy connections dead and reconnected.
    private const int MaxFramesWaiting = 256;
    private const int MaxBytesWaiting = 1024 * 1024;

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

        DeviceId device = auth.Device!.DeviceId;
        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = options.WebSocketKeepAliveInterval }).ConfigureAwait(false);
        RelayLog.WebSocketOpened(logger, device.Value, cursor);
        // Server shutdown ends sessions at once instead of holding the host open until its shutdown timeout.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        // The push loop and the answers to client frames share the socket, which allows one send at a time.
        using var sendGate = new SemaphoreSlim(1, 1);
        int pushed = 0;
        string reason = "client closed";
        // Subscribed before the first mailbox read, so that nothing committed after that read is missed.
        using MailboxSubscription subscription = signal.Subscribe(device);
        var session = new Session(http, auth.Device, socket, sendGate, http.Request.Query["confirm"] == "acks", subscription);
        Task<string>? receiving = null;
        try
        {
            bool readStore = true;
            // A revocation that committed before the subscription existed closed nobody: the store tells.
            session.Revoked = await store.GetDeviceAsync(device, stop.Token).ConfigureAwait(false) is null;
            receiving = ReceiveAsync(session, stop.Token);
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                if (session.IsRevoked)
                {
                    session.Revoked = true;
                    await CloseAsync(session, WebSocketCloseStatus.PolicyViolation, "device revoked", CancellationToken.None).ConfigureAwait(false);
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
                        await PushAsync(session, envelope, stop.Token).ConfigureAwait(false);
                        cursor = envelope.Cursor;
                        pushed++;
                    }

                    if (batch.Count > 0)
                    {
                        metrics.PushedEnvelopes.Add(batch.Count, RelayMetrics.FromMailbox);
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

                // Only what continues the cursor: a gap that no submission under way here can fill makes it read the store.
                readStore = subscription.Take(cursor, out List<RelayPendingEnvelope> next);
                foreach (RelayPendingEnvelope envelope in next)
                {
                    await PushAsync(session, envelope, stop.Token).ConfigureAwait(false);
                    cursor = envelope.Cursor;
                    pushed++;
                }

                if (next.Count > 0)
                {
                    metrics.PushedEnvelopes.Add(next.Count, RelayMetrics.FromHandover);
                }
            }

            string received = await receiving.ConfigureAwait(false);
            reason = session.Revoked ? "device revoked" : received;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            reason = ex is OperationCanceledException ? "aborted" : "connection lost";
        }
        catch (DbException)
        {
            // The client reconnects with its cursor; nothing was acknowledged that was not deleted.
            reason = "store unavailable";
            await CloseAsync(session, WebSocketCloseStatus.InternalServerError, "store unavailable", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (receiving is not null)
            {
                // The reader waits for the frames it is handling; they must not outlive the socket.
                await ((Task)receiving).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            RelayLog.WebSocketClosed(logger, device.Value, pushed, session.Acknowledged, reason);
        }

        return null;
    }

    private static bool TryParseFrame(ReadOnlySpan<byte> frame, out ClientFrame? parsed)
    {
        try
        {
            parsed = JsonSerializer.Deserialize(frame, RelayJsonContext.Default.ClientFrame);
        }
        catch (JsonException)
        {
            parsed = null;
        }

        return parsed is not null;
    }

    /// <summary>
    /// Pushes one envelope, serialized into the session's own push buffer under the send gate: a new array per push
    /// (the frame is larger than the envelope) was more than a quarter of the relay's garbage at full load.
    /// </summary>
    private static async Task PushAsync(Session session, RelayPendingEnvelope envelope, CancellationToken ct)
    {
        var frame = new PushFrame("envelope", envelope.Cursor.ToString(CultureInfo.InvariantCulture), envelope.Id.Value, envelope.Data);
        await session.SendGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ReadOnlyMemory<byte> written = session.Pushes.Write(writer => JsonSerializer.Serialize(writer, frame, RelayJsonContext.Default.PushFrame));
            await session.Socket.SendAsync(written, WebSocketMessageType.Text, endOfMessage: true, ct).ConfigureAwait(false);
        }
        finally
        {
            session.Pushes.Release();
            session.SendGate.Release();
        }
    }

    private static async Task SendAsync(Session session, byte[] frame, CancellationToken ct)
    {
        await session.SendGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await session.Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct).ConfigureAwait(false);
        }
        finally
        {
            session.SendGate.Release();
        }
    }

    private static byte[] RefusedFrame(string request, RelayRefusal refusal) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new RefusedFrame("refused", request, refusal.Status, refusal.Code, refusal.Title, refusal.RetryAfter is { } delay ? (int)Math.Max(1, Math.Ceiling(delay.TotalSeconds)) : null),
            RelayJsonContext.Default.RefusedFrame);

    private static async Task CloseAsync(Session session, WebSocketCloseStatus status, string description, CancellationToken ct)
    {
        await session.SendGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (session.Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await session.Socket.CloseOutputAsync(status, description, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            session.SendGate.Release();
        }
    }

    /// <summary>
    /// Reads client frames until the socket closes, handling up to <see cref="MaxFramesInFlight"/> at once; further
    /// frames wait in order, up to <see cref="MaxFramesWaiting"/> frames and <see cref="MaxBytesWaiting"/> bytes.
    /// </summary>
    private async Task<string> ReceiveAsync(Session session, CancellationToken ct)
    {
        WebSocket socket = session.Socket;
        int maxFrameBytes = Math.Max(FrameBufferBytes, options.MaxRequestBodyBytes);
        byte[]? buffer = null;
        using var inFlight = new SemaphoreSlim(MaxFramesInFlight, MaxFramesInFlight);
        var waiting = new WaitingFrames();
        // Ends frames still waiting for a slot when reading ends: the client is gone or told to go, and sends again.
        using var readerDone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (true)
            {
                await waiting.RoomAsync(ct).ConfigureAwait(false);
                // Waits for the next frame holding no buffer (a zero-byte read), so that an idle connection costs no
                // frame buffer: most connections are idle most of the time. An empty message is consumed here (its
                // EndOfMessage is already set), and is refused below as the malformed frame it is.
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(Memory<byte>.Empty, ct).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(FrameBufferBytes);
                int length = 0;
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close)
                {
                    // Checked before every read, not only when the array is full: the pool may hand out an array
                    // larger than the limit, and a read into no room returns nothing, forever.
                    if (length >= maxFrameBytes)
                    {
                        await CloseAsync(session, WebSocketCloseStatus.MessageTooBig, "frame too large", ct).ConfigureAwait(false);
                        return "frame too large";
                    }

                    if (length == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(maxFrameBytes, buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxFrameBytes) - length), ct).ConfigureAwait(false);
                    length += result.Count;
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(session, WebSocketCloseStatus.NormalClosure, "bye", ct).ConfigureAwait(false);
                    return "client closed";
                }

                long received = Stopwatch.GetTimestamp();
                bool parsed = TryParseFrame(buffer.AsSpan(0, length), out ClientFrame? frame);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;

                Func<Task>? handle = !parsed ? null : frame!.Type switch
                {
                    "ack" when api.TryConvertIds(frame.Ids, out List<MessageId>? ids) && frame.Request is null && frame.Envelopes is null =>
                        () => AcknowledgeAsync(session, ids!, ct),
                    "send" when Identifier.IsValid(frame.Request) && frame.Ids is null =>
                        () => SubmitAsync(session, frame, received, ct),
                    _ => null,
                };
                if (handle is null)
                {
                    await CloseAsync(session, WebSocketCloseStatus.InvalidPayloadData, "expected an ack or send frame", ct).ConfigureAwait(false);
                    return "invalid frame";
                }

                waiting.Add(length);
                _ = HandleAsync(session, handle, length, inFlight, waiting, readerDone.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return ex is OperationCanceledException ? "server stopping" : "connection lost";
        }
        finally
        {
            // Frames still being handled use the socket and its send gate, which end with this session.
            await readerDone.CancelAsync().ConfigureAwait(false);
            await waiting.EmptyAsync().ConfigureAwait(false);
            for (int i = 0; i < MaxFramesInFlight; i++)
            {
                await inFlight.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async Task HandleAsync(Session session, Func<Task> handle, int length, SemaphoreSlim inFlight, WaitingFrames waiting, CancellationToken readerDone)
    {
        try
        {
            await inFlight.WaitAsync(readerDone).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            // No longer waiting: in flight now, or dropped because reading ended.
            waiting.Remove(length);
        }

        try
        {
            await handle().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket closed or the session is ending: the client sends again (acks and sends are idempotent).
        }
#pragma warning disable CA1031 // Nobody awaits a frame's handling: a failure (a throwing authorizer, say) is logged here.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Its answer will never come: dropping the socket makes the client resubmit over HTTP, where the same
            // failure answers 500 instead of hanging until the client's timeout.
            RelayLog.FrameFailed(logger, session.Device.DeviceId.Value, ex.GetType().Name);
            session.Socket.Abort();
        }
        finally
        {
            inFlight.Release();
        }
    }

    /// <summary>Frames read and waiting for an in-flight slot: how many, how large, and who waits for room or for none.</summary>
    private sealed class WaitingFrames
    {
        private readonly Lock _gate = new();
        private int _frames;
        private long _bytes;
        private TaskCompletionSource? _changed;

        public void Add(int bytes)
        {
            lock (_gate)
            {
                _frames++;
                _bytes += bytes;
            }
        }

        public void Remove(int bytes)
        {
            TaskCompletionSource? changed;
            lock (_gate)
            {
                _frames--;
                _bytes -= bytes;
                changed = _changed;
                _changed = null;
            }

            changed?.TrySetResult();
        }

        /// <summary>Completes when another frame may be read.</summary>
        public Task RoomAsync(CancellationToken ct) => WhenAsync(() => _frames < MaxFramesWaiting && _bytes < MaxBytesWaiting, ct);

        /// <summary>Completes when no frame waits any more.</summary>
        public Task EmptyAsync() => WhenAsync(() => _frames == 0, CancellationToken.None);

        private async Task WhenAsync(Func<bool> condition, CancellationToken ct)
        {
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (condition())
                    {
                        return;
                    }

                    _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    changed = _changed.Task;
                }

                await changed.WaitAsync(ct).ConfigureAwait(false);
            }
        }
    }

    private async Task AcknowledgeAsync(Session session, List<MessageId> ids, CancellationToken ct)
    {
        try
        {
            session.AddAcknowledged(await api.AcknowledgeAsync(session.Device.DeviceId, ids, ct).ConfigureAwait(false));
        }
        catch (DbException)
        {
            await CloseAsync(session, WebSocketCloseStatus.InternalServerError, "store unavailable", CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (session.ConfirmAcks)
        {
            await SendAsync(session, WebSocketRelayTransport.IdsFrame("acked", ids), ct).ConfigureAwait(false);
        }
    }

    private async Task SubmitAsync(Session session, ClientFrame frame, long received, CancellationToken ct)
    {
        string request = frame.Request!;
        RelayRefusal? refusal;
        SubmitResponse? response = null;
        if (session.IsRevoked)
        {
            refusal = new RelayRefusal(StatusCodes.Status401Unauthorized, "unknown_device", "The signing device is not registered.");
        }
        else
        {
            refusal = await authenticator.AuthorizeAsync(session.Http, session.Device, RelayOperation.SubmitEnvelopes, null, null, ct).ConfigureAwait(false);
            if (refusal is null)
            {
                try
                {
                    (response, refusal) = await api.SubmitAsync(session.Device.DeviceId, frame.Envelopes, null, received, ct).ConfigureAwait(false);
                }
                catch (DbException)
                {
                    // Nothing was stored; the client resubmits (over HTTP, whose retries honour Retry-After).
                    refusal = new RelayRefusal(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The relay's database is not reachable.", RetryAfter: TimeSpan.FromSeconds(1));
                }
            }
        }

        if (refusal is not null && logger.IsEnabled(LogLevel.Information))
        {
            RelayLog.Refused(logger, "WS", "/v1/ws send", session.Device.DeviceId.Value, refusal.Status, refusal.Code);
        }

        await SendAsync(
            session,
            refusal is null
                ? JsonSerializer.SerializeToUtf8Bytes(new SentFrame("sent", request, response!.Results), RelayJsonContext.Default.SentFrame)
                : RefusedFrame(request, refusal),
            ct).ConfigureAwait(false);
    }

    /// <summary>One open socket: who opened it, how to write to it, and whether its device has been revoked since.</summary>
    private sealed class Session(HttpContext http, RelayDevice device, WebSocket socket, SemaphoreSlim sendGate, bool confirmAcks, MailboxSubscription subscription)
    {
        private int _acknowledged;
        private volatile bool _revoked;

        /// <summary>The upgrade request: what the authorizer sees for requests framed on this socket.</summary>
        public HttpContext Http { get; } = http;

        public RelayDevice Device { get; } = device;

        public WebSocket Socket { get; } = socket;

        public SemaphoreSlim SendGate { get; } = sendGate;

        public bool ConfirmAcks { get; } = confirmAcks;

        public int Acknowledged => Volatile.Read(ref _acknowledged);

        /// <summary>Set when the store showed the device gone after the subscription existed.</summary>
        public bool Revoked
        {
            get => _revoked;
            set => _revoked = value;
        }

        public bool IsRevoked => Revoked || subscription.IsClosed;

        public void AddAcknowledged(int count) => Interlocked.Add(ref _acknowledged, count);

        /// <summary>
        /// The buffer pushes are written into, only under the send gate; made at the first push, so an idle connection
        /// has none. A 1 KiB envelope's push frame is about 1.5 KB.
        /// </summary>
        public FrameBuffer Pushes { get; } = new(4 * 1024);
    }
}
