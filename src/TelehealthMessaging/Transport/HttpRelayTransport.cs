using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace TelehealthMessaging.Transport;

/// <summary>The relay's HTTP API (docs/relay.md) through a named <see cref="HttpClient"/> with the standard resilience pipeline.</summary>
internal sealed class HttpRelayTransport : IRelayTransport
{
    private readonly HttpClient _http;
    private readonly Uri _baseAddress;
    private readonly DeviceId _device;
    private readonly Func<ReadOnlyMemory<byte>, byte[]> _signer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly CancellationTokenSource _disposed = new();
    private readonly TransportStateTracker _status;

    public HttpRelayTransport(HttpClient http, RelayTransportOptions options)
    {
        _status = new TransportStateTracker(this);
        _http = http;
        _baseAddress = RelayHttp.BaseAddress(options.Endpoint!);
        _device = options.Device;
        _signer = options.RequestSigner ?? throw new ArgumentException("RequestSigner is required for HTTP endpoints.", nameof(options));
        _time = options.TimeProvider;
        _pollInterval = options.PollInterval;
    }

    public event EventHandler<TransportStateChangedEventArgs>? StateChanged
    {
        add => _status.Changed += value;
        remove => _status.Changed -= value;
    }

    public TransportState State => _status.Current;

    public async Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default)
    {
        CheckBatch(batch);
        byte[] body = RelayHttp.Json(writer => WriteEnvelopes(writer, batch));
        using JsonDocument _ = await CallAsync(HttpMethod.Post, "v1/messages", body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Refuses a batch no relay would take: empty, or holding nulls.</summary>
    internal static void CheckBatch(IReadOnlyList<OutgoingEnvelope> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0 || batch.Any(e => e is null))
        {
            throw new ArgumentException("The batch must hold at least one envelope and no nulls.", nameof(batch));
        }
    }

    /// <summary>The <c>envelopes</c> member of a submission, as POST /v1/messages and the WebSocket send frame carry it.</summary>
    internal static void WriteEnvelopes(Utf8JsonWriter writer, IReadOnlyList<OutgoingEnvelope> batch)
    {
        writer.WriteStartArray("envelopes");
        foreach (OutgoingEnvelope envelope in batch)
        {
            writer.WriteStartObject();
            writer.WriteString("id", envelope.Id.Value);
            writer.WriteString("recipientDeviceId", envelope.Recipient.Value);
            writer.WriteBase64String("data", envelope.Data.Span);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    public async Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count is 0 or > InMemoryRelay.MaxFetchEnvelopes || ids.Any(id => id.Value is null))
        {
            throw new ArgumentException("Acknowledge 1 to 100 valid message ids at a time.", nameof(ids));
        }

        byte[] body = RelayHttp.Json(writer =>
        {
            writer.WriteStartArray("ids");
            foreach (MessageId id in ids)
            {
                writer.WriteStringValue(id.Value);
            }

            writer.WriteEndArray();
        });
        using JsonDocument _ = await CallAsync(HttpMethod.Post, "v1/messages/ack", body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One page of the own mailbox after <paramref name="after"/> (the WebSocket transport's fallback).</summary>
    public async Task<List<IncomingEnvelope>> FetchPageAsync(RelayCursor after, CancellationToken cancellationToken)
    {
        using JsonDocument answer = await CallAsync(HttpMethod.Get, "v1/messages?after=" + after.ToString(), null, cancellationToken).ConfigureAwait(false);
        return ReadPage(answer.RootElement);
    }

    public async IAsyncEnumerable<IncomingEnvelope> ReceiveAsync(RelayCursor? after, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        CancellationToken ct = linked.Token;
        RelayCursor cursor = after ?? RelayCursor.Start;
        while (true)
        {
            List<IncomingEnvelope> page = await FetchPageAsync(cursor, ct).ConfigureAwait(false);

            foreach (IncomingEnvelope envelope in page)
            {
                cursor = envelope.Cursor > cursor ? envelope.Cursor : cursor;
                yield return envelope;
            }

            // HTTP has no push: a full page is followed at once, an empty one after the poll interval.
            if (page.Count == 0)
            {
                await Task.Delay(_pollInterval, _time, ct).ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            _status.Set(TransportState.Closed);
            _disposed.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private static List<IncomingEnvelope> ReadPage(JsonElement root)
    {
        var page = new List<IncomingEnvelope>();
        try
        {
            foreach (JsonElement item in root.GetProperty("envelopes").EnumerateArray())
            {
                if (!RelayCursor.TryParse(item.GetProperty("cursor").GetString(), out RelayCursor cursor)
                    || !Identifier.IsValid(item.GetProperty("id").GetString()))
                {
                    throw MalformedAnswer();
                }

                page.Add(new IncomingEnvelope(cursor, new MessageId(item.GetProperty("id").GetString()!), item.GetProperty("data").GetBytesFromBase64()));
            }
        }
        catch (Exception error) when (error is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // A missing member, a member of the wrong JSON type or bad base64: the answer is not what the API promises.
            throw MalformedAnswer(error);
        }

        return page;
    }

    private static RelayRequestException MalformedAnswer(Exception? inner = null) =>
        new(TelehealthErrorCode.InvalidFormat, null, 200, "The relay answered with a malformed page of envelopes.", null, inner);

    private async Task<JsonDocument> CallAsync(HttpMethod method, string relativePath, byte[]? body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        using var request = new HttpRequestMessage(method, new Uri(_baseAddress, relativePath));
        if (body is not null)
        {
            request.Content = RelayHttp.JsonContent(body);
        }

        // Signed per attempt by RelaySigningHandler, inside the retry loop, so that each retry carries a fresh nonce.
        RelayHttp.SignWith(request, _device, _signer, _time, body ?? []);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RelayHttp.IsUnreachable(error, cancellationToken))
        {
            RelayRequestException failure = RelayHttp.Unreachable(error);
            _status.Set(TransportState.Disconnected, failure);
            throw failure;
        }

        using (response)
        {
            byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                _status.Set(TransportState.Connected);
                try
                {
                    return content.Length == 0 ? JsonDocument.Parse("{}") : JsonDocument.Parse(content);
                }
                catch (JsonException)
                {
                    throw MalformedAnswer();
                }
            }

            RelayRequestException refusal = RelayHttp.Refusal(response, content, RelayHttp.TransportReason);
            TelehealthErrorCode reason = refusal.ErrorCode;
            if (reason == TelehealthErrorCode.RelayUnavailable)
            {
                _status.Set(TransportState.Disconnected, refusal);
            }

            throw refusal;
        }
    }
}

/// <summary>
/// What the signing handler needs to sign one request: device, signer, clock and body, or the body's digest when the
/// body is streamed (an attachment upload hashes its stream before sending).
/// </summary>
internal sealed record RelayRequestSigner(DeviceId Device, Func<ReadOnlyMemory<byte>, byte[]> Sign, TimeProvider Time, byte[] Body, string? BodyDigestHex = null);

/// <summary>Adds the four signature headers to each attempt of a relay request (fresh timestamp and nonce per attempt).</summary>
internal sealed class RelaySigningHandler : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<RelayRequestSigner> SignerKey = new("TelehealthMessaging.RelayRequestSigner");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(SignerKey, out RelayRequestSigner? signer))
        {
            Span<byte> nonceBytes = stackalloc byte[RelayRequestSignature.NonceSize];
            RandomNumberGenerator.Fill(nonceBytes);
            string nonce = Base64Url.Encode(nonceBytes);
            long timestamp = signer.Time.GetUtcNow().ToUnixTimeSeconds();
            byte[] canonical = RelayRequestSignature.CanonicalBytes(request.Method.Method, request.RequestUri!.PathAndQuery, timestamp, nonce, signer.BodyDigestHex ?? RelayRequestSignature.DigestHex(signer.Body));
            byte[] signature = signer.Sign(canonical);
            foreach (string header in (string[])[RelayRequestSignature.DeviceHeader, RelayRequestSignature.TimestampHeader, RelayRequestSignature.NonceHeader, RelayRequestSignature.SignatureHeader])
            {
                request.Headers.Remove(header);
            }

            request.Headers.TryAddWithoutValidation(RelayRequestSignature.DeviceHeader, signer.Device.Value);
            request.Headers.TryAddWithoutValidation(RelayRequestSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation(RelayRequestSignature.NonceHeader, nonce);
            request.Headers.TryAddWithoutValidation(RelayRequestSignature.SignatureHeader, Base64Url.Encode(signature));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
