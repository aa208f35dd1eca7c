using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;

namespace TelehealthMessaging.Transport;

/// <summary>
/// Receives by WebSocket push (<c>GET /v1/ws</c>) with keep-alive, dead-connection detection and one reconnect loop
/// with full-jitter backoff, resuming after the last cursor whose envelopes are all acknowledged. While the socket is
/// open, sends and acknowledgements go over it as frames; otherwise (and whenever a frame gets no usable answer)
/// through the HTTP transport, whose retries honour Retry-After.
/// </summary>
/// <remarks>
/// An ack sent as a frame counts only once the relay confirms it (<c>{"type":"acked"}</c>): a frame lost with its
/// socket would otherwise leave the envelope stored behind the resume cursor until it expires. Unconfirmed acks are
/// sent again over HTTP before each reconnect. A send frame whose answer (<c>sent</c> or <c>refused</c>) does not
/// arrive, because the socket died or stayed silent for <see cref="RelayTransportOptions.DeadConnectionTimeout"/>,
/// is submitted again over HTTP: submission is idempotent by envelope id.
/// Frames are read by one loop per socket, not by the consumer of <see cref="ReceiveAsync"/>, so that an answer is
/// read even while the application is busy with an envelope (or awaiting a send from inside its receive loop).
/// </remarks>
internal sealed class WebSocketRelayTransport : IRelayTransport
{
    private const int MaxFrameBytes = 1024 * 1024;
    private const int ReceiveBufferBytes = 64 * 1024;

    // Envelopes read ahead of the application before the socket is left unread (TCP then holds back the relay),
    // unless a send is waiting for its answer behind them.
    private const int MaxReadAheadEnvelopes = 256;

    private readonly HttpRelayTransport _http;
    private readonly Uri _socketBase;
    private readonly RelayTransportOptions _options;
    private readonly Random _random;
    private readonly CancellationTokenSource _disposed = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    // Send and ack frames are written into this one buffer under the send gate and sent from it. Writing each frame
    // through a new stream-backed Utf8JsonWriter and copying it out allocated three to four times the frame.
    private readonly FrameBuffer _frame = new(8 * 1024);
    private readonly ResumeTracker _tracker = new();
    private readonly TransportStateTracker _status;
    private Connection? _connection;
    private long _lastRequest;
    private int _receiving;

    public WebSocketRelayTransport(HttpRelayTransport http, RelayTransportOptions options)
    {
        _status = new TransportStateTracker(this);
        _http = http;
        _options = options;
        Uri endpoint = options.Endpoint!;
        _socketBase = endpoint.AbsolutePath.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
        _random = options.ReconnectRandom ?? Random.Shared;
    }

    public event EventHandler<TransportStateChangedEventArgs>? StateChanged
    {
        add => _status.Changed += value;
        remove => _status.Changed -= value;
    }

    public TransportState State => _status.Current;

    public async Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default)
    {
        HttpRelayTransport.CheckBatch(batch);
        if (Volatile.Read(ref _connection) is not { } connection || !await TrySendFrameAsync(connection, batch, cancellationToken).ConfigureAwait(false))
        {
            await _http.SendAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count is 0 or > InMemoryRelay.MaxFetchEnvelopes || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("Acknowledge 1 to 100 valid message ids at a time.", nameof(ids));
        }

        ClientWebSocket? socket = Volatile.Read(ref _connection)?.Socket;
        bool sent = false;
        if (socket is { State: WebSocketState.Open })
        {
            // Recorded before sending, so that a confirmation racing the send's completion is not missed.
            _tracker.AckSent(ids);
            await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(_frame.Write(writer => WriteIds(writer, "ack", ids)), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
                sent = true;
            }
            catch (Exception error) when (error is WebSocketException or ObjectDisposedException)
            {
                // The socket died or was replaced under us; fall through to HTTP.
            }
            finally
            {
                _frame.Release();
                _sendGate.Release();
            }
        }

        if (!sent)
        {
            await _http.AcknowledgeAsync(ids, cancellationToken).ConfigureAwait(false);
            _tracker.Acknowledged(ids);
        }
    }

    public async IAsyncEnumerable<IncomingEnvelope> ReceiveAsync(RelayCursor? after, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (Interlocked.Exchange(ref _receiving, 1) == 1)
        {
            throw new InvalidOperationException("A WebSocket transport runs one receive stream at a time.");
        }

        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            CancellationToken ct = linked.Token;
            _tracker.Reset(after ?? RelayCursor.Start);
            int attempt = 0;
            bool connectedBefore = false;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                _status.Set(connectedBefore ? TransportState.Reconnecting : TransportState.Connecting);
                await ResendUnconfirmedAcksAsync(ct).ConfigureAwait(false);
                ClientWebSocket? socket = await TryConnectAsync(_tracker.ResumeCursor, ct).ConfigureAwait(false);
                if (socket is null)
                {
                    // The socket cannot be opened: fetch over HTTP meanwhile, then back off before the next attempt.
                    List<IncomingEnvelope> page = await TryFetchAsync(_tracker.ResumeCursor, ct).ConfigureAwait(false);
                    foreach (IncomingEnvelope envelope in page)
                    {
                        _tracker.Delivered(envelope);
                        yield return envelope;
                    }

                    await Task.Delay(ReconnectBackoff.Next(attempt++, _options.ReconnectBaseDelay, _options.ReconnectMaxDelay, _random), _options.TimeProvider, ct).ConfigureAwait(false);
                    continue;
                }

                attempt = 0;
                connectedBefore = true;
                var connection = new Connection(socket);
                Task reading = ReadFramesAsync(connection, ct);
                Volatile.Write(ref _connection, connection);
                _status.Set(TransportState.Connected);
                try
                {
                    while (await connection.Envelopes.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                    {
                        while (connection.TryTake(out IncomingEnvelope? envelope))
                        {
                            _tracker.Delivered(envelope);
                            yield return envelope;
                        }
                    }
                }
                finally
                {
                    Interlocked.CompareExchange(ref _connection, null, connection);
                    // Closed first: the reader may be parked waiting for the application to take envelopes, which
                    // aborting the socket does not wake.
                    connection.Close();
                    socket.Abort();
                    await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    socket.Dispose();
                }

                ct.ThrowIfCancellationRequested();
                _status.Set(TransportState.Reconnecting);
                await Task.Delay(ReconnectBackoff.Next(attempt++, _options.ReconnectBaseDelay, _options.ReconnectMaxDelay, _random), _options.TimeProvider, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _receiving, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            Volatile.Read(ref _connection)?.Socket.Abort();
            _status.Set(TransportState.Closed);
            await _http.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Envelopes read from the current socket that the application has not taken yet (for tests).</summary>
    internal int ReadAhead => Volatile.Read(ref _connection)?.ReadAhead ?? 0;

    /// <summary>Drops the current socket as a network failure would (for tests of reconnect and resume).</summary>
    internal void AbortConnection() => Volatile.Read(ref _connection)?.Socket.Abort();

    /// <summary>
    /// <c>{"type":…,"ids":[…]}</c>: the client's ack frame and the relay's confirmation of it (the relay writes its
    /// <c>acked</c> frames with this too).
    /// </summary>
    internal static byte[] IdsFrame(string type, IReadOnlyList<MessageId> ids)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteIds(writer, type, ids);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteIds(Utf8JsonWriter writer, string type, IReadOnlyList<MessageId> ids)
    {
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteStartArray("ids");
        foreach (MessageId id in ids)
        {
            writer.WriteStringValue(id.Value);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private async Task<ClientWebSocket?> TryConnectAsync(RelayCursor after, CancellationToken ct)
    {
        string relative = "v1/ws?after=" + after.ToString() + "&confirm=acks";
        var http = new Uri(_socketBase, relative);
        var uri = new UriBuilder(http) { Scheme = _socketBase.Scheme == "wss" ? "wss" : "ws" }.Uri;
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
#if NET9_0_OR_GREATER
        // A pong must answer each ping within this time, or the socket is aborted: half-open connections are detected.
        socket.Options.KeepAliveTimeout = _options.DeadConnectionTimeout;
#endif
        Span<byte> nonceBytes = stackalloc byte[RelayRequestSignature.NonceSize];
        RandomNumberGenerator.Fill(nonceBytes);
        string nonce = Base64Url.Encode(nonceBytes);
        long timestamp = _options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        byte[] signature = _options.RequestSigner!(RelayRequestSignature.CanonicalBytes("GET", uri.PathAndQuery, timestamp, nonce, RelayRequestSignature.EmptyBodyDigest));
        socket.Options.SetRequestHeader(RelayRequestSignature.DeviceHeader, _options.Device.Value);
        socket.Options.SetRequestHeader(RelayRequestSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        socket.Options.SetRequestHeader(RelayRequestSignature.NonceHeader, nonce);
        socket.Options.SetRequestHeader(RelayRequestSignature.SignatureHeader, Base64Url.Encode(signature));
        try
        {
            using var timeout = new CancellationTokenSource(_options.DeadConnectionTimeout, _options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            await socket.ConnectAsync(uri, linked.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception error) when (error is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            socket.Dispose();
            ct.ThrowIfCancellationRequested();
            return null;
        }
    }

    /// <summary>
    /// Sends the acks whose frames the relay never confirmed over HTTP (a relay ignores ids it no longer holds). While
    /// the relay is unreachable they stay pending, and their envelopes may be delivered again meanwhile.
    /// </summary>
    private async Task ResendUnconfirmedAcksAsync(CancellationToken ct)
    {
        List<MessageId> pending = _tracker.Unconfirmed();
        for (int start = 0; start < pending.Count; start += InMemoryRelay.MaxFetchEnvelopes)
        {
            List<MessageId> chunk = pending.GetRange(start, Math.Min(InMemoryRelay.MaxFetchEnvelopes, pending.Count - start));
            try
            {
                await _http.AcknowledgeAsync(chunk, ct).ConfigureAwait(false);
            }
            catch (RelayRequestException error) when (error.IsTransient)
            {
                return;
            }

            _tracker.Acknowledged(chunk);
        }
    }

    private static void WriteSend(Utf8JsonWriter writer, string request, IReadOnlyList<OutgoingEnvelope> batch)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "send");
        writer.WriteString("request", request);
        HttpRelayTransport.WriteEnvelopes(writer, batch);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Submits <paramref name="batch"/> as a frame on the open socket. True once the relay stored it; false when the
    /// frame got no usable answer (socket gone, silent, or a retryable refusal), so that the caller sends over HTTP.
    /// </summary>
    private async Task<bool> TrySendFrameAsync(Connection connection, IReadOnlyList<OutgoingEnvelope> batch, CancellationToken ct)
    {
        string request = Interlocked.Increment(ref _lastRequest).ToString(CultureInfo.InvariantCulture);
        var answer = new TaskCompletionSource<SendAnswer?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!connection.Expect(request, answer))
        {
            return false;
        }

        try
        {
            await _sendGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                ReadOnlyMemory<byte> frame = _frame.Write(writer => WriteSend(writer, request, batch));
                if (frame.Length > MaxFrameBytes)
                {
                    // A relay may close the socket on a frame this large; HTTP answers such a batch with a 413 instead.
                    return false;
                }

                await connection.Socket.SendAsync(frame, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            }
            catch (Exception error) when (error is WebSocketException or ObjectDisposedException or InvalidOperationException)
            {
                return false;
            }
            finally
            {
                _frame.Release();
                _sendGate.Release();
            }

            SendAnswer? result;
            try
            {
                result = await answer.Task.WaitAsync(_options.DeadConnectionTimeout, _options.TimeProvider, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }

            if (result is not { Status: { } status })
            {
                // Stored (status null), or the socket ended before the answer (no result): HTTP resubmits.
                return result is not null;
            }

            if (status == 429 || status >= 500)
            {
                // Rate limited, mailbox full or store unavailable: the HTTP pipeline retries after Retry-After.
                return false;
            }

            throw new RelayRequestException(
                RelayHttp.TransportReason(status),
                result.Code,
                status,
                $"The relay answered {status.ToString(CultureInfo.InvariantCulture)} ({result.Code ?? "no problem code"}).",
                result.RetryAfter);
        }
        finally
        {
            connection.Forget(request);
        }
    }

    /// <summary>
    /// Reads the socket's frames until it is unusable: envelopes into the connection's queue for the receive stream,
    /// ack confirmations into the resume tracker, send answers to their waiting senders.
    /// </summary>
    private async Task ReadFramesAsync(Connection connection, CancellationToken ct)
    {
        try
        {
            while (await connection.WaitForRoomAsync(ct).ConfigureAwait(false))
            {
                switch (await ReceiveFrameAsync(connection.Socket, _options, ct).ConfigureAwait(false))
                {
                    case IncomingEnvelope envelope:
                        connection.Add(envelope);
                        break;
                    case MessageId[] confirmed:
                        _tracker.Acknowledged(confirmed);
                        break;
                    case SendAnswer answer:
                        connection.Answer(answer);
                        break;
                    default:
                        return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            connection.Close();
        }
    }

    private async Task<List<IncomingEnvelope>> TryFetchAsync(RelayCursor after, CancellationToken ct)
    {
        try
        {
            return await _http.FetchPageAsync(after, ct).ConfigureAwait(false);
        }
        catch (RelayRequestException error) when (error.IsTransient)
        {
            return [];
        }
    }

    /// <summary>
    /// The next frame: an <see cref="IncomingEnvelope"/>, the <see cref="MessageId"/>s of a confirmed ack, a
    /// <see cref="SendAnswer"/>, or null once the socket has closed, failed, gone silent too long or sent a malformed frame.
    /// </summary>
    internal static async Task<object?> ReceiveFrameAsync(WebSocket socket, RelayTransportOptions options, CancellationToken ct)
    {
#if NET9_0_OR_GREATER
        CancellationToken receiveToken = ct;
#else
        // net8 has no KeepAliveTimeout: a connection silent for DeadConnectionTimeout is treated as dead and replaced.
        using var idle = new CancellationTokenSource(options.DeadConnectionTimeout, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
        CancellationToken receiveToken = linked.Token;
#endif
        byte[]? buffer = null;
        try
        {
            int length = 0;
            ValueWebSocketReceiveResult result;
            try
            {
                // Waits for the next frame holding no buffer (a zero-byte read): a socket spends most of its life
                // idle, and a buffer held through every wait is memory per connection and a pool that runs dry when
                // many transports share a process. An empty message is consumed here, and is malformed anyway.
                result = await socket.ReceiveAsync(Memory<byte>.Empty, receiveToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                // Pooled, not allocated per frame: at relay throughput a fresh 64 KiB array per frame dominated the garbage.
                buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferBytes);
                while (!result.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        // A frame larger than the buffer (a big envelope): grow it, up to the frame limit.
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), receiveToken).ConfigureAwait(false);
                    length += result.Count;
                    if (result.MessageType == WebSocketMessageType.Close || length > MaxFrameBytes)
                    {
                        return null;
                    }
                }
            }
            catch (Exception error) when (error is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Cancellation and disposal abort the socket, which can surface as any of these: report it as the
                // cancellation it is. Otherwise the socket closed, was aborted or went silent: the caller reconnects.
                ct.ThrowIfCancellationRequested();
                return null;
            }

            return ParseFrame(buffer.AsMemory(0, length));
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static object? ParseFrame(ReadOnlyMemory<byte> frame)
    {
        try
        {
            using JsonDocument json = JsonDocument.Parse(frame);
            JsonElement root = json.RootElement;
            string? type = root.GetProperty("type").GetString();
            if (type is "sent" or "refused")
            {
                string? request = root.GetProperty("request").GetString();
                if (request is null)
                {
                    return null;
                }

                return type == "sent"
                    ? new SendAnswer(request, null, null, null)
                    : new SendAnswer(
                        request,
                        root.GetProperty("status").GetInt32(),
                        root.TryGetProperty("code", out JsonElement code) ? code.GetString() : null,
                        root.TryGetProperty("retryAfter", out JsonElement delay) && delay.ValueKind == JsonValueKind.Number ? TimeSpan.FromSeconds(delay.GetInt32()) : null);
            }

            if (type == "acked")
            {
                var confirmed = new MessageId[root.GetProperty("ids").GetArrayLength()];
                int index = 0;
                foreach (JsonElement id in root.GetProperty("ids").EnumerateArray())
                {
                    string? text = id.GetString();
                    if (!Identifier.IsValid(text))
                    {
                        return null;
                    }

                    confirmed[index++] = new MessageId(text!);
                }

                return confirmed;
            }

            if (type != "envelope"
                || !RelayCursor.TryParse(root.GetProperty("cursor").GetString(), out RelayCursor cursor)
                || !Identifier.IsValid(root.GetProperty("id").GetString()))
            {
                return null;
            }

            return new IncomingEnvelope(cursor, new MessageId(root.GetProperty("id").GetString()!), root.GetProperty("data").GetBytesFromBase64());
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // A malformed frame: drop the connection and resume from the cursor rather than skip an envelope.
            return null;
        }
    }

    /// <summary>The relay's answer to a send frame: <see cref="Status"/> null when stored, else the refusal.</summary>
    private sealed record SendAnswer(string Request, int? Status, string? Code, TimeSpan? RetryAfter);

    /// <summary>One open socket: the envelopes read ahead of the application and the sends waiting for answers.</summary>
    // Not disposable: its semaphore holds no wait handle (AvailableWaitHandle is never read), and a late sender may
    // still touch it after the socket has ended.
#pragma warning disable CA1001
    private sealed class Connection(ClientWebSocket socket)
#pragma warning restore CA1001
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<SendAnswer?>> _waiting = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _wake = new(0);
        private int _readAhead;
        private volatile bool _closed;

        public ClientWebSocket Socket { get; } = socket;

        public int ReadAhead => Volatile.Read(ref _readAhead);

        public Channel<IncomingEnvelope> Envelopes { get; } = Channel.CreateUnbounded<IncomingEnvelope>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public void Add(IncomingEnvelope envelope)
        {
            Interlocked.Increment(ref _readAhead);
            Envelopes.Writer.TryWrite(envelope);
        }

        public bool TryTake([NotNullWhen(true)] out IncomingEnvelope? envelope)
        {
            if (!Envelopes.Reader.TryRead(out envelope))
            {
                return false;
            }

            if (Interlocked.Decrement(ref _readAhead) == MaxReadAheadEnvelopes - 1)
            {
                Wake();
            }

            return true;
        }

        /// <summary>
        /// Waits while the application is far enough behind and no send waits for an answer; false once the
        /// connection is closed.
        /// </summary>
        public async Task<bool> WaitForRoomAsync(CancellationToken ct)
        {
            while (!_closed && Volatile.Read(ref _readAhead) >= MaxReadAheadEnvelopes && _waiting.IsEmpty)
            {
                await _wake.WaitAsync(ct).ConfigureAwait(false);
            }

            return !_closed;
        }

        // The reader only needs to know that something changed; a count that grew with every send could overflow.
        private void Wake()
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }

        /// <summary>Registers a send; false when the socket has already ended (its answer could never arrive).</summary>
        public bool Expect(string request, TaskCompletionSource<SendAnswer?> answer)
        {
            _waiting[request] = answer;
            // Closed is set before the waiting sends are failed, so a send registered too late sees it here.
            if (_closed)
            {
                _waiting.TryRemove(request, out _);
                return false;
            }

            Wake();
            return true;
        }

        public void Answer(SendAnswer answer)
        {
            if (_waiting.TryRemove(answer.Request, out TaskCompletionSource<SendAnswer?>? waiting))
            {
                waiting.TrySetResult(answer);
            }
        }

        public void Forget(string request) => _waiting.TryRemove(request, out _);

        /// <summary>The socket is done: the receive stream ends after what was read, waiting sends go over HTTP.</summary>
        public void Close()
        {
            _closed = true;
            Wake();
            Envelopes.Writer.TryComplete();
            foreach (string request in _waiting.Keys)
            {
                if (_waiting.TryRemove(request, out TaskCompletionSource<SendAnswer?>? waiting))
                {
                    waiting.TrySetResult(null);
                }
            }
        }
    }

    /// <summary>Knows which delivered envelopes are unacknowledged, to resume after the last cursor that loses nothing.</summary>
    private sealed class ResumeTracker
    {
        private readonly object _gate = new();
        private readonly SortedDictionary<long, MessageId> _unacknowledged = [];
        private readonly Dictionary<MessageId, long> _cursorOf = [];
        private readonly HashSet<MessageId> _unconfirmed = [];
        private long _highestDelivered;

        public RelayCursor ResumeCursor
        {
            get
            {
                lock (_gate)
                {
                    return new RelayCursor(_unacknowledged.Count > 0 ? _unacknowledged.Keys.First() - 1 : _highestDelivered);
                }
            }
        }

        public void Reset(RelayCursor after)
        {
            lock (_gate)
            {
                _unacknowledged.Clear();
                _cursorOf.Clear();
                _highestDelivered = after.Value;
            }
        }

        /// <summary>Ack frames sent but not yet confirmed: kept across streams, so a later stream still resends them.</summary>
        public void AckSent(IEnumerable<MessageId> ids)
        {
            lock (_gate)
            {
                _unconfirmed.UnionWith(ids);
            }
        }

        public List<MessageId> Unconfirmed()
        {
            lock (_gate)
            {
                return [.. _unconfirmed];
            }
        }

        public void Delivered(IncomingEnvelope envelope)
        {
            lock (_gate)
            {
                _highestDelivered = Math.Max(_highestDelivered, envelope.Cursor.Value);
                if (_cursorOf.TryAdd(envelope.Id, envelope.Cursor.Value))
                {
                    _unacknowledged[envelope.Cursor.Value] = envelope.Id;
                }
            }
        }

        public void Acknowledged(IEnumerable<MessageId> ids)
        {
            lock (_gate)
            {
                foreach (MessageId id in ids)
                {
                    _unconfirmed.Remove(id);
                    if (_cursorOf.Remove(id, out long cursor))
                    {
                        _unacknowledged.Remove(cursor);
                    }
                }
            }
        }
    }
}
