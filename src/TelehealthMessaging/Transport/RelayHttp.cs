using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace TelehealthMessaging.Transport;

/// <summary>What every HTTP client of the relay shares: base address, request signing, JSON bodies and error mapping.</summary>
internal static class RelayHttp
{
    /// <summary>The API base for an endpoint: <c>ws(s)://</c> maps to <c>http(s)://</c>, and the path ends with <c>/</c>.</summary>
    public static Uri BaseAddress(Uri endpoint)
    {
        Uri http = endpoint.Scheme is "ws" or "wss"
            ? new UriBuilder(endpoint) { Scheme = endpoint.Scheme == "wss" ? Uri.UriSchemeHttps : Uri.UriSchemeHttp }.Uri
            : endpoint;
        return http.AbsolutePath.EndsWith('/') ? http : new Uri(http.AbsoluteUri + "/");
    }

    /// <summary>Attaches what <see cref="RelaySigningHandler"/> signs each attempt with; the body digest is taken from <paramref name="body"/> unless given.</summary>
    public static void SignWith(HttpRequestMessage request, DeviceId device, Func<ReadOnlyMemory<byte>, byte[]> signer, TimeProvider time, byte[] body, string? bodyDigestHex = null) =>
        request.Options.Set(RelaySigningHandler.SignerKey, new RelayRequestSigner(device, signer, time, body, bodyDigestHex));

    /// <summary>A JSON request body: one object whose members <paramref name="writeMembers"/> writes.</summary>
    public static byte[] Json(Action<Utf8JsonWriter> writeMembers)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static ByteArrayContent JsonContent(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>
    /// Whether <paramref name="error"/> from sending means the request did not get an answer from the relay (rather
    /// than a caller's cancellation): unreachable, timed out, circuit open, or refused by the pipeline's own
    /// concurrency limiter.
    /// </summary>
    public static bool IsUnreachable(Exception error, CancellationToken cancellationToken) =>
        error is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or RateLimiterRejectedException
        || (error is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    public static RelayRequestException Unreachable(Exception error) => error is RateLimiterRejectedException limited
        // Too many requests in flight from this process (the standard pipeline's limit): retryable like a 429.
        ? new(TelehealthErrorCode.RateLimited, null, null, "Too many relay requests are in flight from this process.", limited.RetryAfter, error)
        : new(TelehealthErrorCode.RelayUnavailable, null, null, "The relay could not be reached.", null, error);

    /// <summary>The transports' mapping: 429 is rate limiting, 5xx unavailability, every other refusal a rejection.</summary>
    public static TelehealthErrorCode TransportReason(int status) =>
        status == (int)HttpStatusCode.TooManyRequests ? TelehealthErrorCode.RateLimited
        : status >= 500 ? TelehealthErrorCode.RelayUnavailable
        : TelehealthErrorCode.RelayRejected;

    /// <summary>The exception for a non-success answer: status, problem code and <c>Retry-After</c>, never the body's text.</summary>
    public static RelayRequestException Refusal(HttpResponseMessage response, byte[] content, Func<int, TelehealthErrorCode> reasonFor)
    {
        int status = (int)response.StatusCode;
        string? code = ProblemCode(content);
        return new RelayRequestException(
            reasonFor(status),
            code,
            status,
            $"The relay answered {status.ToString(CultureInfo.InvariantCulture)} ({code ?? "no problem code"}).",
            response.Headers.RetryAfter?.Delta);
    }

    public static string? ProblemCode(byte[] content)
    {
        try
        {
            using JsonDocument problem = JsonDocument.Parse(content);
            return problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("code", out JsonElement code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
