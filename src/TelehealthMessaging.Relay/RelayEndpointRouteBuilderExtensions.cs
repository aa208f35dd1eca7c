using TelehealthMessaging.Relay.Api;
using TelehealthMessaging.Relay.Storage;

#pragma warning disable IDE0130 // Endpoint mapping extensions live beside MapGet and friends.
namespace Microsoft.AspNetCore.Builder;
#pragma warning restore IDE0130

/// <summary>Maps the Telehealth relay's endpoints.</summary>
public static class RelayEndpointRouteBuilderExtensions
{
    internal const string OpenApiDocumentName = "telehealth-relay-v1";

    /// <summary>
    /// A database the relay cannot use for a moment (connection refused or lost, pool exhausted, too many clients, a
    /// deadlock or serialization failure) answers 503 <c>store_unavailable</c> with Retry-After, as WebSocket frames
    /// do, so that clients back off and retry; it used to be a bare 500. Anything else stays a 500: a bug, not a wait.
    /// </summary>
    private static async ValueTask<object?> AnswerTransientStoreFailures(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException error) when (error.IsTransient && !context.HttpContext.Response.HasStarted)
        {
            HttpContext http = context.HttpContext;
            RelayLog.StoreUnavailable(
                http.RequestServices.GetRequiredService<ILogger<RelayApi>>(),
                http.Request.Method,
                (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "?",
                error.GetType().Name);
            return RelayProblem.Create(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The relay's database is not reachable.", retryAfter: TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>
    /// Maps <c>/v1/…</c> (the relay API), <c>/health</c>, <c>/ready</c> and the OpenAPI document at
    /// <c>/openapi/telehealth-relay-v1.json</c>. The WebSocket endpoint needs <c>app.UseWebSockets()</c> earlier in the pipeline.
    /// </summary>
    /// <param name="endpoints">The application's route builder.</param>
    /// <returns>The route group of the /v1 endpoints, for adding conventions (CORS, host filters).</returns>
    public static RouteGroupBuilder MapTelehealthRelay(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder v1 = endpoints.MapGroup("/v1").WithGroupName(OpenApiDocumentName);
        v1.AddEndpointFilter(AnswerTransientStoreFailures);
        // Any endpoint may meet a database outage (the filter above), so the OpenAPI document lists it on each.
        v1.ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        v1.MapPost("/devices", (HttpContext http, RelayApi api) => api.RegisterDeviceAsync(http))
            .Accepts<RegisterDeviceRequest>("application/json").Produces<DeviceResponse>(StatusCodes.Status201Created).Produces<DeviceResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("RegisterDevice").WithSummary("Register a device with proof of possession of its identity key.");
        v1.MapPut("/devices/{deviceId}/prekeys", (HttpContext http, string deviceId, RelayApi api) => api.UploadPrekeysAsync(http, deviceId))
            .Accepts<PrekeyUploadRequest>("application/json").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("UploadPrekeys").WithSummary("Upload the envelope key and the signed, one-time and last-resort prekeys of the signing device; each must verify against its identity.");
        v1.MapGet("/users/{userId}/devices", (HttpContext http, string userId, RelayApi api) => api.ListDevicesAsync(http, userId))
            .Produces<DeviceListResponse>().ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("ListDevices").WithSummary("List a user's devices that have published an envelope key, with their identity and envelope keys.");
        v1.MapPost("/users/{userId}/devices/{deviceId}/bundle", (HttpContext http, string userId, string deviceId, RelayApi api) => api.ClaimBundleAsync(http, userId, deviceId))
            .Produces<PrekeyBundleResponse>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("ClaimPrekeyBundle").WithSummary("Claim a prekey bundle; each one-time prekey goes to exactly one claimer.");
        v1.MapDelete("/users/{userId}/devices/{deviceId}", (HttpContext http, string userId, string deviceId, RelayApi api) => api.RevokeDeviceAsync(http, userId, deviceId))
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("RevokeDevice").WithSummary("Revoke a device of the signing device's own user: its keys, mailbox and clinic memberships are deleted and its id is never registered again.");
        v1.MapPut("/clinics/{clinicId}/devices/{deviceId}", (HttpContext http, string clinicId, string deviceId, RelayApi api) => api.JoinClinicAsync(http, clinicId, deviceId))
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .WithName("JoinClinic").WithSummary("Add the signing device to a clinic's triage devices (the host's IRelayAuthorizer decides who may).");
        v1.MapDelete("/clinics/{clinicId}/devices/{deviceId}", (HttpContext http, string clinicId, string deviceId, RelayApi api) => api.LeaveClinicAsync(http, clinicId, deviceId))
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .WithName("LeaveClinic").WithSummary("Remove the signing device from a clinic's triage devices; idempotent.");
        v1.MapGet("/clinics/{clinicId}/devices", (HttpContext http, string clinicId, RelayApi api) => api.ListClinicDevicesAsync(http, clinicId))
            .Produces<DeviceListResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("ListClinicDevices").WithSummary("List a clinic's triage devices with their clinicians' user ids and keys.");
        v1.MapPost("/clinics/{clinicId}/claims/{itemId}", (HttpContext http, string clinicId, string itemId, RelayApi api) => api.ClaimWorkItemAsync(http, clinicId, itemId))
            .Produces<WorkItemClaimResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .WithName("ClaimWorkItem").WithSummary("Claim a clinic work item for the signing device's user; the first claim wins and every claim answers the winner.");
        v1.MapPost("/messages", (HttpContext http, RelayApi api) => api.SubmitEnvelopesAsync(http))
            .Accepts<SubmitRequest>("application/json").Produces<SubmitResponse>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithName("SubmitEnvelopes").WithSummary("Store a batch of sealed envelopes; resubmitting an id is idempotent.");
        v1.MapGet("/messages", (HttpContext http, RelayApi api) => api.FetchEnvelopesAsync(http))
            .Produces<FetchResponse>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithName("FetchEnvelopes").WithSummary("Fetch pending envelopes of the signing device after a cursor.");
        v1.MapPost("/messages/ack", (HttpContext http, RelayApi api) => api.AcknowledgeAsync(http))
            .Accepts<AcknowledgeRequest>("application/json").Produces<AcknowledgeResponse>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithName("AcknowledgeEnvelopes").WithSummary("Delete delivered envelopes from the signing device's mailbox.");
        v1.MapGet("/ws", async (HttpContext http, RelayWebSocketSession session) => await session.RunAsync(http).ConfigureAwait(false) ?? Results.Empty)
            .Produces(StatusCodes.Status101SwitchingProtocols).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("Connect").WithSummary("WebSocket: pushes envelopes after a cursor, then new ones; takes acknowledgements.");
        v1.MapPut("/attachments/{blobId}", (HttpContext http, string blobId, RelayApi api) => api.UploadAttachmentAsync(http, blobId))
            .Accepts<byte[]>("application/octet-stream").Produces(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("UploadAttachment").WithSummary("Upload an attachment's ciphertext (streamed, write-once).");
        v1.MapGet("/attachments/{blobId}", (HttpContext http, string blobId, RelayApi api) => api.DownloadAttachmentAsync(http, blobId))
            .Produces<byte[]>(StatusCodes.Status200OK, "application/octet-stream").ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("DownloadAttachment").WithSummary("Download an attachment's ciphertext.");
        v1.MapMethods("/{**rest}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch], RelayApi.UnknownRoute)
            .ExcludeFromDescription();

        // Unknown API versions answer problem+json too, rather than the host's bare 404.
        endpoints.MapMethods("/v{version:int}/{**rest}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch], RelayApi.UnknownRoute)
            .ExcludeFromDescription();

        endpoints.MapGet("/health", () => Results.Json(new HealthResponse("ok"), RelayJsonContext.Default.HealthResponse))
            .WithGroupName(OpenApiDocumentName).WithName("Health").WithSummary("Liveness: the process serves requests.");
        endpoints.MapGet("/ready", async (IRelayStore store, HttpContext http) =>
                await store.IsReadyAsync(http.RequestAborted).ConfigureAwait(false)
                    ? Results.Json(new HealthResponse("ready"), RelayJsonContext.Default.HealthResponse)
                    : RelayProblem.Create(StatusCodes.Status503ServiceUnavailable, "not_ready", "The relay's database is not reachable or not migrated."))
            .WithGroupName(OpenApiDocumentName).WithName("Ready").WithSummary("Readiness: the database answers and its schema is current.");

        endpoints.MapOpenApi("/openapi/{documentName}.json");
        return v1;
    }
}
