using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace TelehealthMessaging.Transport;

/// <summary>
/// Receives by WebSocket push (<c>GET /v1/ws</c>) with keep-alive, dead-connection detection and one reconnect loop
/// with full-jitter backoff, resuming after the last cursor whose envelopes are all acknowledged; sends and, while no
/// socket is open, fetches and acknowledges through the HTTP transport.
/// </summary>
/// <remarks>
/// An ack sent as a frame counts only once the relay confirms it (<c>{"type":"acked"}</c>): a frame lost with its
/// socket would otherwise leave the envelope stored behind the resume cursor until it expires. Unconfirmed acks are
/// sent again over HTTP before each reconnect.
/// </remarks>
internal sealed class WebSocketRelayTransport : IRelayTransport
{
    private const int MaxFrameBytes = 1024 * 1024;
    private const int ReceiveBufferBytes = 64 * 1024;

    private readonly HttpRelayTransport _http;
    private readonly Uri _socketBase;
    private readonly RelayTransportOptions _options;
    private readonly Random _random;
    private readonly CancellationTokenSource _disposed = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly ResumeTracker _tracker = new();
    private readonly TransportStateTracker _status;
    private ClientWebSocket? _socket;
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

    public Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default) =>
        _http.SendAsync(batch, cancellationToken);

    public async Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count is 0 or > InMemoryRelay.MaxFetchEnvelopes || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("Acknowledge 1 to 100 valid message ids at a time.", nameof(ids));
        }

        ClientWebSocket? socket = Volatile.Read(ref _socket);
        bool sent = false;
        if (socket is { State: WebSocketState.Open })
        {
            byte[] frame = AckFrame(ids);
            // Recorded before sending, so that a confirmation racing the send's completion is not missed.
            _tracker.AckSent(ids);
            await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
                sent = true;
            }
            catch (Exception error) when (error is WebSocketException or ObjectDisposedException)
            {
                // The socket died or was replaced under us; fall through to HTTP.
            }
            finally
            {
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
                Volatile.Write(ref _socket, socket);
                _status.Set(TransportState.Connected);
                try
                {
                    while (await ReceiveEnvelopeAsync(socket, ct).ConfigureAwait(false) is { } envelope)
                    {
                        _tracker.Delivered(envelope);
                        yield return envelope;
                    }
                }
                finally
                {
                    Interlocked.CompareExchange(ref _socket, null, socket);
                    socket.Abort();
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
            Volatile.Read(ref _socket)?.Abort();
            _status.Set(TransportState.Closed);
            await _http.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Drops the current socket as a network failure would (for tests of reconnect and resume).</summary>
    internal void AbortConnection() => Volatile.Read(ref _socket)?.Abort();

    private static byte[] AckFrame(IReadOnlyList<MessageId> ids)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "ack");
            writer.WriteStartArray("ids");
            foreach (MessageId id in ids)
            {
                writer.WriteStringValue(id.Value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
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

    /// <summary>The next envelope, applying ack confirmations read on the way; null once the socket is unusable.</summary>
    private async Task<IncomingEnvelope?> ReceiveEnvelopeAsync(ClientWebSocket socket, CancellationToken ct)
    {
        while (true)
        {
            switch (await ReceiveFrameAsync(socket, _options, ct).ConfigureAwait(false))
            {
                case IncomingEnvelope envelope:
                    return envelope;
                case MessageId[] confirmed:
                    _tracker.Acknowledged(confirmed);
                    break;
                default:
                    return null;
            }
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
    /// The next frame: an <see cref="IncomingEnvelope"/>, the <see cref="MessageId"/>s of a confirmed ack, or null once
    /// the socket has closed, failed, gone silent too long or sent a malformed frame.
    /// </summary>
    internal static async Task<object?> ReceiveFrameAsync(WebSocket socket, RelayTransportOptions options, CancellationToken ct)
    {
        // Pooled, not allocated per frame: at relay throughput a fresh 64 KiB array per frame dominated the garbage.
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferBytes);
        try
        {
#if NET9_0_OR_GREATER
            CancellationToken receiveToken = ct;
#else
            // net8 has no KeepAliveTimeout: a connection silent for DeadConnectionTimeout is treated as dead and replaced.
            using var idle = new CancellationTokenSource(options.DeadConnectionTimeout, options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
            CancellationToken receiveToken = linked.Token;
#endif
            int length = 0;
            ValueWebSocketReceiveResult result;
            try
            {
                do
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
                while (!result.EndOfMessage);
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
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static object? ParseFrame(ReadOnlyMemory<byte> frame)
    {
        try
        {
            using JsonDocument json = JsonDocument.Parse(frame);
            JsonElement root = json.RootElement;
            if (root.GetProperty("type").GetString() == "acked")
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

            if (root.GetProperty("type").GetString() != "envelope"
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
