using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Api;

/// <summary>The result of authenticating a request: the device, or the answer to send instead.</summary>
/// <remarks><see cref="PendingNonce"/> is set when the caller asked to record the nonce with its own write.</remarks>
internal readonly record struct RelayAuthentication(RelayDevice? Device, IResult? Failure, int FailureStatus, string FailureCode, RelayNonce? PendingNonce = null);

/// <summary>
/// Verifies the device signature of a request (see <see cref="RelayRequestSignature"/>), the clock skew and the nonce,
/// then asks the host's <see cref="IRelayAuthorizer"/>, then takes a token from the device's rate-limit bucket.
/// </summary>
/// <remarks>
/// Rate limiting runs here rather than as ASP.NET Core middleware because the partition key must be a device id
/// whose signature has been checked: partitioning by an unverified header would let anyone drain another device's budget.
/// </remarks>
internal sealed class RelayRequestAuthenticator : IDisposable
{
    // Nonces outlive the acceptance window slightly so that a clock step cannot reopen it.
    private static readonly TimeSpan NonceMargin = TimeSpan.FromMinutes(1);

    private readonly IRelayStore _store;
    private readonly IRelayAuthorizer _authorizer;
    private readonly RelayOptions _options;
    private readonly PartitionedRateLimiter<string> _rateLimiter;

    // Per client address, spent only by failed authentications: an unauthenticated request costs a signature check
    // and a store read, so an address that keeps failing is refused before either.
    private readonly PartitionedRateLimiter<string> _failureLimiter;
    private readonly TimeSpan _oneFailureRefill;

    public RelayRequestAuthenticator(IRelayStore store, IRelayAuthorizer authorizer, RelayOptions options)
    {
        _store = store;
        _authorizer = authorizer;
        _options = options;
        _rateLimiter = TokenBuckets(options.RateLimitBurst, options.RateLimitPerSecond, TimeSpan.FromSeconds(1));
        _failureLimiter = TokenBuckets(options.FailedAuthenticationsPerMinute, options.FailedAuthenticationsPerMinute, TimeSpan.FromMinutes(1));
        _oneFailureRefill = TimeSpan.FromSeconds(Math.Ceiling(60.0 / options.FailedAuthenticationsPerMinute));
    }

    /// <summary>
    /// The checks that need no body: well-formed headers, timestamp within the skew, registered device. Attachment
    /// uploads run these before streaming, so that unsigned or stale requests cannot make the relay write large
    /// temporary files; the full check follows once the body digest is known.
    /// </summary>
    public Task<RelayAuthentication> PrecheckAsync(HttpContext http, CancellationToken cancellationToken) =>
        LimitedAsync(http, () => PrecheckCoreAsync(http, cancellationToken));

    private async Task<RelayAuthentication> PrecheckCoreAsync(HttpContext http, CancellationToken cancellationToken)
    {
        IHeaderDictionary headers = http.Request.Headers;
        string? deviceText = headers[RelayRequestSignature.DeviceHeader];
        if (!Identifier.IsValid(deviceText) || !RelayRequestSignature.TryParseTimestamp(headers[RelayRequestSignature.TimestampHeader], out long timestamp)
            || !RelayRequestSignature.IsWellFormedNonce(headers[RelayRequestSignature.NonceHeader]) || !Base64Url.TryDecode(headers[RelayRequestSignature.SignatureHeader], out _))
        {
            return Fail(RelayProblem.Unauthorized("missing_signature", "The request is not signed: the X-Telehealth-Device, -Timestamp, -Nonce and -Signature headers are required."), "missing_signature");
        }

        if (Math.Abs(_options.TimeProvider.GetUtcNow().ToUnixTimeSeconds() - timestamp) > (long)RelayRequestSignature.MaxClockSkew.TotalSeconds)
        {
            return Fail(RelayProblem.Unauthorized("stale_request", "The request timestamp is more than 5 minutes from the relay's clock."), "stale_request");
        }

        RelayDevice? device = await _store.GetDeviceAsync(new DeviceId(deviceText), cancellationToken).ConfigureAwait(false);
        return device is null
            ? Fail(RelayProblem.Unauthorized("unknown_device", "The signing device is not registered."), "unknown_device")
            : new RelayAuthentication(device, null, 0, string.Empty);
    }

    /// <summary>Authenticates a request whose body has the given digest.</summary>
    /// <param name="http">The request.</param>
    /// <param name="bodyDigestHex">Lower-case hex SHA-256 of the body as received.</param>
    /// <param name="operation">What the request does, for the authorizer.</param>
    /// <param name="targetUser">The user whose data is read, for the authorizer.</param>
    /// <param name="registering">For registration: the device from the body, whose key must have signed.</param>
    /// <param name="cancellationToken">Cancels the checks.</param>
    /// <param name="targetClinic">The clinic, for the clinic operations.</param>
    public Task<RelayAuthentication> AuthenticateAsync(HttpContext http, string bodyDigestHex, RelayOperation operation, UserId? targetUser, RelayDevice? registering, CancellationToken cancellationToken, ClinicId? targetClinic = null) =>
        LimitedAsync(http, () => AuthenticateCoreAsync(http, bodyDigestHex, operation, targetUser, registering, targetClinic, deferNonce: false, cancellationToken));

    /// <summary>
    /// Authenticates a request whose nonce the caller records in its own transaction (<see cref="RelayAuthentication.PendingNonce"/>),
    /// so that a request commits once. The caller must refuse the request as <see cref="ReplayedNonce"/> when the store finds the nonce used.
    /// </summary>
    public Task<RelayAuthentication> AuthenticateDeferringNonceAsync(HttpContext http, string bodyDigestHex, RelayOperation operation, CancellationToken cancellationToken) =>
        LimitedAsync(http, () => AuthenticateCoreAsync(http, bodyDigestHex, operation, null, null, null, deferNonce: true, cancellationToken));

    /// <summary>The answer to a request whose deferred nonce turned out to be used before; counts as a failed authentication.</summary>
    public RelayAuthentication ReplayedNonce(HttpContext http) =>
        Counted(http, Fail(RelayProblem.Unauthorized("replayed_nonce", "The request nonce has been used before."), "replayed_nonce"));

    private async Task<RelayAuthentication> AuthenticateCoreAsync(HttpContext http, string bodyDigestHex, RelayOperation operation, UserId? targetUser, RelayDevice? registering, ClinicId? targetClinic, bool deferNonce, CancellationToken cancellationToken)
    {
        IHeaderDictionary headers = http.Request.Headers;
        string? deviceText = headers[RelayRequestSignature.DeviceHeader];
        string? timestampText = headers[RelayRequestSignature.TimestampHeader];
        string? nonce = headers[RelayRequestSignature.NonceHeader];
        string? signatureText = headers[RelayRequestSignature.SignatureHeader];
        if (!Identifier.IsValid(deviceText) || !RelayRequestSignature.TryParseTimestamp(timestampText, out long timestamp)
            || !RelayRequestSignature.IsWellFormedNonce(nonce) || !Base64Url.TryDecode(signatureText, out byte[]? signature))
        {
            return Fail(RelayProblem.Unauthorized("missing_signature", "The request is not signed: the X-Telehealth-Device, -Timestamp, -Nonce and -Signature headers are required."), "missing_signature");
        }

        DateTimeOffset now = _options.TimeProvider.GetUtcNow();
        long skew = Math.Abs(now.ToUnixTimeSeconds() - timestamp);
        if (skew > (long)RelayRequestSignature.MaxClockSkew.TotalSeconds)
        {
            return Fail(RelayProblem.Unauthorized("stale_request", "The request timestamp is more than 5 minutes from the relay's clock."), "stale_request");
        }

        var deviceId = new DeviceId(deviceText);
        RelayDevice? device = registering ?? await _store.GetDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || device.DeviceId != deviceId)
        {
            return Fail(RelayProblem.Unauthorized("unknown_device", "The signing device is not registered."), "unknown_device");
        }

        string pathAndQuery = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (http.Request.PathBase + http.Request.Path + http.Request.QueryString).ToString();
        if (!RelayRequestSignature.Verify(device.IdentityKey, http.Request.Method, pathAndQuery, timestamp, nonce!, bodyDigestHex, signature))
        {
            return Fail(RelayProblem.Unauthorized("bad_signature", "The request signature does not verify."), "bad_signature");
        }

        // Only after the signature verified, so that unauthenticated traffic cannot fill the nonce table.
        DateTimeOffset nonceExpiry = DateTimeOffset.FromUnixTimeSeconds(timestamp) + RelayRequestSignature.MaxClockSkew + NonceMargin;
        if (!deferNonce && !await _store.TryUseNonceAsync(deviceId, nonce!, nonceExpiry, cancellationToken).ConfigureAwait(false))
        {
            return Fail(RelayProblem.Unauthorized("replayed_nonce", "The request nonce has been used before."), "replayed_nonce");
        }

        if (await AuthorizeAsync(http, device, operation, targetUser, targetClinic, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            return Fail(refusal.ToResult(), refusal.Code);
        }

        return new RelayAuthentication(device, null, 0, string.Empty, deferNonce ? new RelayNonce(deviceId, nonce!, nonceExpiry) : null);
    }

    /// <summary>
    /// The checks after the signature: the host's authorizer, then the device's rate-limit bucket. A request framed on
    /// an open WebSocket runs only these: the socket was authenticated when it opened (<paramref name="http"/> is that
    /// upgrade request, so an authorizer sees the credentials the socket was opened with).
    /// </summary>
    /// <returns>Null when the request may proceed; otherwise the 403 or 429 refusal.</returns>
    public async ValueTask<RelayRefusal?> AuthorizeAsync(HttpContext http, RelayDevice device, RelayOperation operation, UserId? targetUser, ClinicId? targetClinic, CancellationToken cancellationToken)
    {
        var context = new RelayAuthorizationContext(http, device.DeviceId, device.UserId, operation, targetUser, targetClinic);
        if (!await _authorizer.AuthorizeAsync(context, cancellationToken).ConfigureAwait(false))
        {
            return new RelayRefusal(StatusCodes.Status403Forbidden, "forbidden", "The host application does not permit this request.");
        }

        using RateLimitLease lease = _rateLimiter.AttemptAcquire(device.DeviceId.Value);
        if (!lease.IsAcquired)
        {
            TimeSpan retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan value) ? value : TimeSpan.FromSeconds(1);
            return new RelayRefusal(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests from this device.", RetryAfter: retryAfter);
        }

        return null;
    }

    public void Dispose()
    {
        _rateLimiter.Dispose();
        _failureLimiter.Dispose();
    }

    // One token bucket per partition key, refusing at once (no queue) when empty.
    private static PartitionedRateLimiter<string> TokenBuckets(int limit, int perPeriod, TimeSpan period) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    private static string AddressOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    // Every way in: refused at once when the address has no failures left, counted when it fails.
    private async Task<RelayAuthentication> LimitedAsync(HttpContext http, Func<Task<RelayAuthentication>> authenticate)
    {
        if (FailingAddress(http) is { } refused)
        {
            return refused;
        }

        return Counted(http, await authenticate().ConfigureAwait(false));
    }

    private RelayAuthentication? FailingAddress(HttpContext http)
    {
        // Asks whether a whole failure is left without spending one. Not a zero-permit acquire: the bucket refills
        // continuously, and a fraction of a token would pass that probe.
        if (_failureLimiter.GetStatistics(AddressOf(http)) is not { CurrentAvailablePermits: < 1 })
        {
            return null;
        }

        return Fail(RelayProblem.Create(StatusCodes.Status429TooManyRequests, "too_many_failures", "Too many failed authentications from this address.", retryAfter: _oneFailureRefill), "too_many_failures");
    }

    private RelayAuthentication Counted(HttpContext http, RelayAuthentication result)
    {
        if (result.FailureStatus == StatusCodes.Status401Unauthorized)
        {
            using RateLimitLease _ = _failureLimiter.AttemptAcquire(AddressOf(http));
        }

        return result;
    }

    private static RelayAuthentication Fail(IResult result, string code) => new(null, result, code switch
    {
        "forbidden" => StatusCodes.Status403Forbidden,
        "rate_limited" or "too_many_failures" => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status401Unauthorized,
    }, code);
}
