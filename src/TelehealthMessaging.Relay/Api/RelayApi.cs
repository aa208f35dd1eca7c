using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Relay.Attachments;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Api;

/// <summary>The /v1 request handlers. Each reads a bounded body, authenticates, validates, then touches the store.</summary>
internal sealed class RelayApi(
    IRelayStore store,
    RelayRequestAuthenticator authenticator,
    AttachmentFiles attachments,
    MailboxSignal signal,
    RelayAuditTrail audit,
    RelayOptions options,
    ILogger<RelayApi> logger)
{
    private const string ReplayedNonceCode = "replayed_nonce";

    public async Task<IResult> RegisterDeviceAsync(HttpContext http)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        if (!TryParse(body!, RelayJsonContext.Default.RegisterDeviceRequest, out RegisterDeviceRequest? request, out failure))
        {
            return failure!;
        }

        if (!Identifier.IsValid(request!.UserId) || !Identifier.IsValid(request.DeviceId))
        {
            return RelayProblem.BadRequest("invalid_field", "userId and deviceId must be 1 to 64 characters of A-Z a-z 0-9 - .");
        }

        if (request.IdentityKey is not { Length: Ed25519.PublicKeySize } || request.AgreementKey is not { Length: X25519PrivateKey.PublicKeySize }
            || request.AgreementKeySignature is not { Length: Ed25519.SignatureSize })
        {
            return RelayProblem.BadRequest("invalid_field", "identityKey and agreementKey must be 32 bytes and agreementKeySignature 64 bytes.");
        }

        try
        {
            // The binding the client makes (IdentityKey.BindingMessage): label, algorithm, signing key, agreement key.
            DirectoryKeys.Identity(request.IdentityKey, request.AgreementKey, request.AgreementKeySignature).Verify();
        }
        catch (CryptographicFailureException)
        {
            return RelayProblem.BadRequest("invalid_key_binding", "agreementKeySignature is not the identity key's signature over the identity binding of agreementKey.");
        }

        var device = new RelayDevice(new UserId(request.UserId), new DeviceId(request.DeviceId), request.IdentityKey, request.AgreementKey, request.AgreementKeySignature);
        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.RegisterDevice, null, device, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        DeviceRegistrationOutcome outcome = await store.RegisterDeviceAsync(device, ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            RelayLog.DeviceRegistered(logger, device.DeviceId.Value, outcome.ToString());
        }

        return await audit.AnswerAsync(RelayAuditEntries.Registration(device, outcome), outcome switch
        {
            DeviceRegistrationOutcome.Created => Results.Json(ToResponse(device), RelayJsonContext.Default.DeviceResponse, statusCode: StatusCodes.Status201Created),
            DeviceRegistrationOutcome.AlreadyRegistered => Results.Json(ToResponse(device), RelayJsonContext.Default.DeviceResponse),
            DeviceRegistrationOutcome.Revoked => RelayProblem.Create(StatusCodes.Status409Conflict, "device_revoked", "The device id was revoked; revoked ids are never registered again."),
            _ => RelayProblem.Create(StatusCodes.Status409Conflict, "device_conflict", "The device id is registered with other keys or to another user."),
        });
    }

    public async Task<IResult> UploadPrekeysAsync(HttpContext http, string deviceId)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.UploadPrekeys, null, null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!string.Equals(deviceId, auth.Device!.DeviceId.Value, StringComparison.Ordinal))
        {
            return Forbidden(http, auth.Device, "A device can upload only its own prekeys.");
        }

        if (!TryParse(body!, RelayJsonContext.Default.PrekeyUploadRequest, out PrekeyUploadRequest? request, out failure))
        {
            return failure!;
        }

        if (!TryConvertPrekeys(request!.OneTimePrekeys, "oneTimePrekeys", out List<RelayOneTimePrekey>? oneTime, out failure)
            || !TryConvertPrekeys(request.OneTimeKemPrekeys, "oneTimeKemPrekeys", out List<RelayOneTimePrekey>? kem, out failure))
        {
            return failure!;
        }

        if (request.SignedPrekey is { } signed && (signed.Length == 0 || signed.Length > options.MaxPrekeyBytes)
            || request.LastResortKemPrekey is { } lastResort && (lastResort.Length == 0 || lastResort.Length > options.MaxPrekeyBytes))
        {
            return RelayProblem.BadRequest("invalid_field", "signedPrekey and lastResortKemPrekey must be 1 to MaxPrekeyBytes bytes.");
        }

        if (!TryVerifyKeys(auth.Device, request, oneTime!, kem!, out failure))
        {
            return failure!;
        }

        await store.StorePrekeysAsync(auth.Device.DeviceId, new RelayPrekeyUpload(request.SignedPrekey, request.LastResortKemPrekey, oneTime!, kem!, request.EnvelopeKey), ct).ConfigureAwait(false);
        return Results.NoContent();
    }

    public async Task<IResult> ListDevicesAsync(HttpContext http, string userId)
    {
        CancellationToken ct = http.RequestAborted;
        if (!Identifier.IsValid(userId))
        {
            return RelayProblem.BadRequest("invalid_path", "The user id in the path is not valid.");
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.ListDevices, new UserId(userId), null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        IReadOnlyList<RelayDevice> devices = await store.ListDevicesAsync(new UserId(userId), ct).ConfigureAwait(false);

        // A device without an envelope key cannot be sealed to yet; listing it would only make senders fail.
        return Results.Json(new DeviceListResponse(devices.Where(d => d.EnvelopeKey is not null).Select(ToResponse).ToList()), RelayJsonContext.Default.DeviceListResponse);
    }

    public async Task<IResult> RevokeDeviceAsync(HttpContext http, string userId, string deviceId)
    {
        CancellationToken ct = http.RequestAborted;
        if (!Identifier.IsValid(userId) || !Identifier.IsValid(deviceId))
        {
            return RelayProblem.BadRequest("invalid_path", "The user or device id in the path is not valid.");
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.RevokeDevice, new UserId(userId), null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!string.Equals(userId, auth.Device!.UserId.Value, StringComparison.Ordinal))
        {
            return Forbidden(http, auth.Device, "not_own_device", "A device can revoke only devices of its own user.");
        }

        DeviceRevocationOutcome outcome = await store.RevokeDeviceAsync(new DeviceId(deviceId), auth.Device.UserId, options.TimeProvider.GetUtcNow(), ct).ConfigureAwait(false);
        switch (outcome)
        {
            case DeviceRevocationOutcome.NotFound:
                return RelayProblem.Create(StatusCodes.Status404NotFound, "device_not_found", "The user has no such device.");
            case DeviceRevocationOutcome.NotOwnDevice:
                return Forbidden(http, auth.Device, "not_own_device", "A device can revoke only devices of its own user.");
        }

        // Its open connections on this instance end now (other instances hear it through the store's notification).
        signal.Close(deviceId);
        if (logger.IsEnabled(LogLevel.Information))
        {
            RelayLog.DeviceRevoked(logger, auth.Device.DeviceId.Value, deviceId);
        }

        return await audit.AnswerAsync(RelayAuditEntries.Revocation(auth.Device, new DeviceId(deviceId)), Results.NoContent());
    }

    public Task<IResult> JoinClinicAsync(HttpContext http, string clinicId, string deviceId) =>
        ChangeMembershipAsync(http, clinicId, deviceId, RelayOperation.JoinClinic);

    public Task<IResult> LeaveClinicAsync(HttpContext http, string clinicId, string deviceId) =>
        ChangeMembershipAsync(http, clinicId, deviceId, RelayOperation.LeaveClinic);

    public async Task<IResult> ListClinicDevicesAsync(HttpContext http, string clinicId)
    {
        CancellationToken ct = http.RequestAborted;
        if (!Identifier.IsValid(clinicId))
        {
            return RelayProblem.BadRequest("invalid_path", "The clinic id in the path is not valid.");
        }

        var clinic = new ClinicId(clinicId);
        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.ListClinicDevices, null, null, ct, clinic).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        IReadOnlyList<RelayDevice> devices = await store.ListClinicDevicesAsync(clinic, ct).ConfigureAwait(false);
        return Results.Json(new DeviceListResponse(devices.Where(d => d.EnvelopeKey is not null).Select(ToResponse).ToList()), RelayJsonContext.Default.DeviceListResponse);
    }

    public async Task<IResult> ClaimWorkItemAsync(HttpContext http, string clinicId, string itemId)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        if (!Identifier.IsValid(clinicId) || !Identifier.IsValid(itemId))
        {
            return RelayProblem.BadRequest("invalid_path", "The clinic or item id in the path is not valid.");
        }

        var clinic = new ClinicId(clinicId);
        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.ClaimWorkItem, null, null, ct, clinic).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        DateTimeOffset now = options.TimeProvider.GetUtcNow();
        RelayWorkItemClaim? claim = await store.ClaimWorkItemAsync(clinic, itemId, auth.Device!, now, now + options.EnvelopeTimeToLive, ct).ConfigureAwait(false);
        if (claim is null)
        {
            return Forbidden(http, auth.Device!, "not_clinic_member", "Only the clinic's devices can claim its work items.");
        }

        return await audit.AnswerAsync(RelayAuditEntries.WorkItemClaim(claim, auth.Device!), Results.Json(new WorkItemClaimResponse(claim.ItemId, claim.UserId.Value, claim.DeviceId.Value, claim.ClaimedAt), RelayJsonContext.Default.WorkItemClaimResponse));
    }

    public async Task<IResult> ClaimBundleAsync(HttpContext http, string userId, string deviceId)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        if (!Identifier.IsValid(userId) || !Identifier.IsValid(deviceId))
        {
            return RelayProblem.BadRequest("invalid_path", "The user or device id in the path is not valid.");
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.ClaimPrekeyBundle, new UserId(userId), null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        RelayPrekeyBundle? bundle = await store.ClaimPrekeyBundleAsync(new UserId(userId), new DeviceId(deviceId), ct).ConfigureAwait(false);
        if (bundle is null)
        {
            return RelayProblem.Create(StatusCodes.Status404NotFound, "bundle_not_found", "The user has no such device, or it has not uploaded its prekeys.");
        }

        RelayLog.BundleClaimed(logger, auth.Device!.DeviceId.Value, deviceId, bundle.OneTimePrekey is not null, bundle.KemPrekeyIsLastResort);
        return await audit.AnswerAsync(RelayAuditEntries.BundleClaim(auth.Device, bundle.Device), Results.Json(
            new PrekeyBundleResponse(
                ToResponse(bundle.Device),
                bundle.SignedPrekey,
                bundle.OneTimePrekey is { } oneTime ? new OneTimePrekeyMessage { KeyId = oneTime.KeyId, Key = oneTime.Key } : null,
                new OneTimePrekeyMessage { KeyId = bundle.KemPrekey.KeyId, Key = bundle.KemPrekey.Key },
                bundle.KemPrekeyIsLastResort),
            RelayJsonContext.Default.PrekeyBundleResponse));
    }

    public async Task<IResult> SubmitEnvelopesAsync(HttpContext http)
    {
        CancellationToken ct = http.RequestAborted;
        long started = Stopwatch.GetTimestamp();
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        RelayAuthentication auth = await authenticator.AuthenticateDeferringNonceAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.SubmitEnvelopes, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!TryParse(body!, RelayJsonContext.Default.SubmitRequest, out SubmitRequest? request, out failure))
        {
            return failure!;
        }

        (SubmitResponse? response, RelayRefusal? refusal) = await SubmitAsync(auth.Device!.DeviceId, request!.Envelopes, auth.PendingNonce, started, ct).ConfigureAwait(false);
        if (refusal is { Code: ReplayedNonceCode })
        {
            return Refused(http, authenticator.ReplayedNonce(http));
        }

        return refusal is not null ? refusal.ToResult() : Results.Json(response!, RelayJsonContext.Default.SubmitResponse);
    }

    /// <summary>
    /// Validates and stores a submission from an authenticated device, then hands the stored envelopes to the
    /// recipients' sessions: POST /v1/messages and the WebSocket <c>send</c> frame both end here.
    /// </summary>
    /// <param name="sender">The authenticated device.</param>
    /// <param name="submitted">The envelopes as received.</param>
    /// <param name="nonce">The request nonce to record with the submission (HTTP), or null (a frame on an authenticated socket).</param>
    /// <param name="started">When the request arrived (Stopwatch timestamp), for the debug timing log.</param>
    /// <param name="ct">Cancels the submission.</param>
    /// <returns>The per-envelope results, or why nothing was stored.</returns>
    public async Task<(SubmitResponse? Response, RelayRefusal? Refusal)> SubmitAsync(DeviceId sender, List<SubmitEnvelope>? submitted, RelayNonce? nonce, long started, CancellationToken ct)
    {
        if (submitted is not { Count: > 0 })
        {
            return (null, RelayRefusal.BadRequest("invalid_field", "envelopes must hold at least one envelope."));
        }

        if (submitted.Count > options.MaxBatchEnvelopes)
        {
            return (null, RelayRefusal.TooLarge("The batch holds too many envelopes.", $"At most {options.MaxBatchEnvelopes.ToString(CultureInfo.InvariantCulture)} envelopes per request."));
        }

        var envelopes = new List<RelayEnvelope>(submitted.Count);
        for (int i = 0; i < submitted.Count; i++)
        {
            SubmitEnvelope? item = submitted[i];
            string field = $"envelopes[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (item is null || !Identifier.IsValid(item.Id) || !Identifier.IsValid(item.RecipientDeviceId) || item.Data is null)
            {
                return (null, RelayRefusal.BadRequest("invalid_field", $"{field} needs a valid id, recipientDeviceId and data."));
            }

            if (item.Data.Length > options.MaxEnvelopeBytes)
            {
                return (null, RelayRefusal.TooLarge("An envelope is too large.", $"{field} exceeds {options.MaxEnvelopeBytes.ToString(CultureInfo.InvariantCulture)} bytes."));
            }

            if (!SealedEnvelopeHeader.TryParse(item.Data, out SealedEnvelopeHeader header, out SealedEnvelopeHeaderError error))
            {
                return (null, RelayRefusal.BadRequest(
                    error == SealedEnvelopeHeaderError.UnknownVersion ? "unknown_envelope_version" : "invalid_envelope",
                    "An envelope is not a well-formed sealed envelope.",
                    $"{field}: {error}."));
            }

            if (!string.Equals(header.Recipient.Value, item.RecipientDeviceId, StringComparison.Ordinal))
            {
                return (null, RelayRefusal.BadRequest("recipient_mismatch", "An envelope's sealed header names another recipient.", $"{field}."));
            }

            envelopes.Add(new RelayEnvelope(new MessageId(item.Id), header.Recipient, item.Data));
        }

        DateTimeOffset now = options.TimeProvider.GetUtcNow();
        EnvelopeSubmissionOutcome outcome;
        // Until the envelopes are handed over, the recipients' sessions wait for them rather than read their mailboxes.
        signal.BeginSubmission(envelopes);
        try
        {
            outcome = await store.SubmitEnvelopesAsync(envelopes, now, now + options.EnvelopeTimeToLive, options.MaxPendingPerMailbox, nonce, ct).ConfigureAwait(false);
            Publish(envelopes, outcome);
        }
        catch
        {
            // Stored or not (a connection lost during the commit leaves it unknown): the sessions read their mailboxes.
            NotifyRecipients(envelopes);
            throw;
        }
        finally
        {
            signal.EndSubmission(envelopes);
        }

        switch (outcome.Status)
        {
            case EnvelopeBatchStatus.ReplayedNonce:
                return (null, new RelayRefusal(StatusCodes.Status401Unauthorized, ReplayedNonceCode, "The request nonce has been used before."));
            case EnvelopeBatchStatus.UnknownRecipient:
                return (null, new RelayRefusal(StatusCodes.Status404NotFound, "unknown_recipient", "A recipient device is not registered; nothing was stored.", outcome.FailedRecipient?.Value));
            case EnvelopeBatchStatus.MailboxFull:
                // The recipient must drain its mailbox first; a minute is a polite first retry interval.
                return (null, new RelayRefusal(StatusCodes.Status429TooManyRequests, "mailbox_full", "A recipient's mailbox is full; nothing was stored.", outcome.FailedRecipient?.Value, TimeSpan.FromSeconds(60)));
        }

        var results = envelopes.Select((e, position) => new SubmitResult(e.Id.Value, e.Recipient.Value, outcome.DuplicatePositions.Contains(position) ? "duplicate" : "stored")).ToList();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            RelayLog.EnvelopesStored(logger, sender.Value, results.Count - outcome.DuplicatePositions.Count, outcome.DuplicatePositions.Count, envelopes.Sum(e => (long)e.Data.Length), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return (new SubmitResponse(results), null);
    }

    /// <summary>Hands what a submission stored to the recipients' sessions on this instance.</summary>
    private void Publish(List<RelayEnvelope> envelopes, EnvelopeSubmissionOutcome outcome)
    {
        if (outcome.Status != EnvelopeBatchStatus.Stored)
        {
            return;
        }

        if (outcome.Appended.Count > 0)
        {
            foreach (RelayMailboxAppend append in outcome.Appended)
            {
                signal.Publish(append.Recipient, append.Envelopes);
            }
        }
        else if (outcome.DuplicatePositions.Count < envelopes.Count)
        {
            // A store that does not report what it appended stored something: the sessions read their mailboxes.
            // (An all-duplicate resubmission stored nothing, and wakes nobody.)
            NotifyRecipients(envelopes);
        }
    }

    /// <summary>Tells the sessions of every recipient of <paramref name="envelopes"/> on this instance to read their mailboxes.</summary>
    private void NotifyRecipients(List<RelayEnvelope> envelopes)
    {
        foreach (DeviceId recipient in envelopes.Select(e => e.Recipient).Distinct())
        {
            signal.Notify(recipient.Value);
        }
    }

    public async Task<IResult> FetchEnvelopesAsync(HttpContext http)
    {
        CancellationToken ct = http.RequestAborted;
        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.FetchEnvelopes, null, null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!TryParseCursor(http.Request.Query["after"], out long after))
        {
            return RelayProblem.BadRequest("invalid_query", "after must be a cursor returned by the relay.");
        }

        int limit = options.MaxFetchEnvelopes;
        string? limitText = http.Request.Query["limit"];
        if (limitText is not null && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > options.MaxFetchEnvelopes))
        {
            return RelayProblem.BadRequest("invalid_query", $"limit must be 1 to {options.MaxFetchEnvelopes.ToString(CultureInfo.InvariantCulture)}.");
        }

        IReadOnlyList<RelayPendingEnvelope> pending = await store.FetchEnvelopesAsync(auth.Device!.DeviceId, after, limit, options.TimeProvider.GetUtcNow(), ct).ConfigureAwait(false);
        long last = pending.Count > 0 ? pending[^1].Cursor : after;
        return Results.Json(
            new FetchResponse(pending.Select(ToMessage).ToList(), last.ToString(CultureInfo.InvariantCulture)),
            RelayJsonContext.Default.FetchResponse);
    }

    public async Task<IResult> AcknowledgeAsync(HttpContext http)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), RelayOperation.AcknowledgeEnvelopes, null, null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!TryParse(body!, RelayJsonContext.Default.AcknowledgeRequest, out AcknowledgeRequest? request, out failure))
        {
            return failure!;
        }

        if (!TryConvertIds(request!.Ids, out List<MessageId>? ids))
        {
            return RelayProblem.BadRequest("invalid_field", $"ids must hold 1 to {options.MaxFetchEnvelopes.ToString(CultureInfo.InvariantCulture)} valid message ids.");
        }

        int deleted = await AcknowledgeAsync(auth.Device!.DeviceId, ids!, ct).ConfigureAwait(false);
        return Results.Json(new AcknowledgeResponse(deleted), RelayJsonContext.Default.AcknowledgeResponse);
    }

    public async Task<IResult> UploadAttachmentAsync(HttpContext http, string blobId)
    {
        CancellationToken ct = http.RequestAborted;
        long started = Stopwatch.GetTimestamp();
        if (!AttachmentFiles.IsValidBlobId(blobId))
        {
            return RelayProblem.BadRequest("invalid_blob_id", "A blob id is 16 to 64 characters of A-Z a-z 0-9 _ -.");
        }

        if (http.Request.ContentLength > options.MaxBlobBytes)
        {
            return RelayProblem.TooLarge("The attachment is too large.");
        }

        // The blob limit is ours to enforce (and may exceed Kestrel's default); lift the server's own cap for this request.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        RelayAuthentication precheck = await authenticator.PrecheckAsync(http, ct).ConfigureAwait(false);
        if (precheck.Failure is not null)
        {
            return Refused(http, precheck);
        }

        if (await store.BlobExistsAsync(blobId, options.TimeProvider.GetUtcNow(), ct).ConfigureAwait(false))
        {
            return RelayProblem.Create(StatusCodes.Status409Conflict, "blob_exists", "An attachment with this id exists; blobs are write-once.");
        }

        // Stream to a temporary file while hashing; nothing becomes visible until the signature over the digest verifies.
        string temporaryPath;
        long size = 0;
        string digest;
        FileStream temporary = attachments.CreateTemporary();
        temporaryPath = temporary.Name;
        bool committed = false;
        try
        {
            await using (temporary.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(81920);
                try
                {
                    int read;
                    while ((read = await http.Request.Body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        size += read;
                        if (size > options.MaxBlobBytes)
                        {
                            return RelayProblem.TooLarge("The attachment is too large.");
                        }

                        hash.AppendData(buffer, 0, read);
                        await temporary.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                digest = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
                await temporary.FlushAsync(ct).ConfigureAwait(false);
            }

            RelayAuthentication auth = await authenticator.AuthenticateAsync(http, digest, RelayOperation.UploadAttachment, null, null, ct).ConfigureAwait(false);
            if (auth.Failure is not null)
            {
                return Refused(http, auth);
            }

            if (size == 0)
            {
                return RelayProblem.BadRequest("invalid_body", "An attachment cannot be empty.");
            }

            if (!attachments.TryCommit(temporaryPath, blobId))
            {
                return RelayProblem.Create(StatusCodes.Status409Conflict, "blob_exists", "An attachment with this id exists; blobs are write-once.");
            }

            committed = true;
            if (!await store.TryAddBlobAsync(blobId, size, options.TimeProvider.GetUtcNow() + options.EnvelopeTimeToLive, ct).ConfigureAwait(false))
            {
                return RelayProblem.Create(StatusCodes.Status409Conflict, "blob_exists", "An attachment with this id exists; blobs are write-once.");
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                RelayLog.AttachmentStored(logger, blobId, size, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return Results.Created((string?)null, value: null);
        }
        finally
        {
            if (!committed)
            {
                AttachmentFiles.DeleteTemporary(temporaryPath);
            }
        }
    }

    public async Task<IResult> DownloadAttachmentAsync(HttpContext http, string blobId)
    {
        CancellationToken ct = http.RequestAborted;
        if (!AttachmentFiles.IsValidBlobId(blobId))
        {
            return RelayProblem.BadRequest("invalid_blob_id", "A blob id is 16 to 64 characters of A-Z a-z 0-9 _ -.");
        }

        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.EmptyBodyDigest, RelayOperation.DownloadAttachment, null, null, ct).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        string path = attachments.PathOf(blobId);
        if (!await store.BlobExistsAsync(blobId, options.TimeProvider.GetUtcNow(), ct).ConfigureAwait(false) || !File.Exists(path))
        {
            return RelayProblem.Create(StatusCodes.Status404NotFound, "blob_not_found", "No attachment with this id.");
        }

        return Results.File(path, "application/octet-stream");
    }

    public static IResult UnknownRoute() =>
        RelayProblem.Create(StatusCodes.Status404NotFound, "unknown_route", "No such relay endpoint; this relay serves API version v1.");

    internal async Task<int> AcknowledgeAsync(DeviceId device, List<MessageId> ids, CancellationToken ct)
    {
        int deleted = await store.AcknowledgeEnvelopesAsync(device, ids, options.TimeProvider.GetUtcNow() + options.EnvelopeTimeToLive, ct).ConfigureAwait(false);
        RelayLog.EnvelopesAcknowledged(logger, device.Value, deleted, ids.Count);
        return deleted;
    }

    internal bool TryConvertIds(List<string>? texts, out List<MessageId>? ids)
    {
        ids = null;
        if (texts is not { Count: > 0 } || texts.Count > options.MaxFetchEnvelopes || !texts.TrueForAll(Identifier.IsValid))
        {
            return false;
        }

        ids = texts.ConvertAll(t => new MessageId(t));
        return true;
    }

    internal static PendingEnvelopeMessage ToMessage(RelayPendingEnvelope envelope) =>
        new(envelope.Cursor.ToString(CultureInfo.InvariantCulture), envelope.Id.Value, envelope.Data);

    internal static bool TryParseCursor(string? text, out long cursor)
    {
        cursor = 0;
        return text is null || (text.Length <= 19 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out cursor));
    }

    internal static bool TryParse<T>(byte[] body, JsonTypeInfo<T> typeInfo, out T? value, out IResult? failure)
        where T : class
    {
        value = null;
        failure = null;
        try
        {
            value = JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException ex)
        {
            // The path names the field; the message never echoes content.
            failure = RelayProblem.BadRequest("invalid_json", "The request body is not valid JSON of the expected shape.", ex.Path is { Length: > 1 } path ? $"At {path}." : null);
            return false;
        }

        if (value is null)
        {
            failure = RelayProblem.BadRequest("invalid_json", "The request body is not valid JSON of the expected shape.");
            return false;
        }

        return true;
    }

    private static async Task<(byte[]? Body, IResult? Failure)> ReadBodyAsync(HttpContext http, int maxBytes, CancellationToken ct)
    {
        if (http.Request.ContentLength > maxBytes)
        {
            return (null, RelayProblem.TooLarge("The request body is too large.", $"At most {maxBytes.ToString(CultureInfo.InvariantCulture)} bytes."));
        }

        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return (null, RelayProblem.TooLarge("The request body is too large.", $"At most {maxBytes.ToString(CultureInfo.InvariantCulture)} bytes."));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return (buffer.ToArray(), null);
    }

    private bool TryConvertPrekeys(List<OneTimePrekeyMessage>? messages, string field, out List<RelayOneTimePrekey>? keys, out IResult? failure)
    {
        keys = [];
        failure = null;
        if (messages is null)
        {
            return true;
        }

        if (messages.Count > options.MaxPrekeysPerUpload)
        {
            failure = RelayProblem.TooLarge($"{field} holds too many keys.", $"At most {options.MaxPrekeysPerUpload.ToString(CultureInfo.InvariantCulture)}.");
            return false;
        }

        var seen = new HashSet<long>();
        foreach (OneTimePrekeyMessage? message in messages)
        {
            if (message is not { KeyId: >= 0 and <= uint.MaxValue, Key.Length: > 0 } || message.Key.Length > options.MaxPrekeyBytes || !seen.Add(message.KeyId.Value))
            {
                failure = RelayProblem.BadRequest("invalid_field", $"Each of {field} needs a distinct keyId (0 to 4294967295) and a key of 1 to MaxPrekeyBytes bytes.");
                return false;
            }

            keys.Add(new RelayOneTimePrekey(message.KeyId.Value, message.Key));
        }

        return true;
    }

    private IResult Refused(HttpContext http, RelayAuthentication auth)
    {
        string device = http.Request.Headers[RelayRequestSignature.DeviceHeader].ToString();
        if (logger.IsEnabled(LogLevel.Information))
        {
            RelayLog.Refused(logger, http.Request.Method, RouteOf(http), Identifier.IsValid(device) ? device : "-", auth.FailureStatus, auth.FailureCode);
        }

        return auth.Failure!;
    }

    private IResult Forbidden(HttpContext http, RelayDevice device, string title) => Forbidden(http, device, "not_own_mailbox", title);

    private IResult Forbidden(HttpContext http, RelayDevice device, string code, string title)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            RelayLog.Refused(logger, http.Request.Method, RouteOf(http), device.DeviceId.Value, StatusCodes.Status403Forbidden, code);
        }

        return RelayProblem.Create(StatusCodes.Status403Forbidden, code, title);
    }

    private async Task<IResult> ChangeMembershipAsync(HttpContext http, string clinicId, string deviceId, RelayOperation operation)
    {
        CancellationToken ct = http.RequestAborted;
        (byte[]? body, IResult? failure) = await ReadBodyAsync(http, options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        if (!Identifier.IsValid(clinicId) || !Identifier.IsValid(deviceId))
        {
            return RelayProblem.BadRequest("invalid_path", "The clinic or device id in the path is not valid.");
        }

        var clinic = new ClinicId(clinicId);
        RelayAuthentication auth = await authenticator.AuthenticateAsync(http, RelayRequestSignature.DigestHex(body), operation, null, null, ct, clinic).ConfigureAwait(false);
        if (auth.Failure is not null)
        {
            return Refused(http, auth);
        }

        if (!string.Equals(deviceId, auth.Device!.DeviceId.Value, StringComparison.Ordinal))
        {
            return Forbidden(http, auth.Device, "not_own_device", "A device can join or leave a clinic only for itself.");
        }

        if (operation == RelayOperation.JoinClinic)
        {
            await store.JoinClinicAsync(clinic, auth.Device.DeviceId, ct).ConfigureAwait(false);
        }
        else
        {
            await store.LeaveClinicAsync(clinic, auth.Device.DeviceId, ct).ConfigureAwait(false);
        }

        return await audit.AnswerAsync(RelayAuditEntries.Membership(operation, clinic, auth.Device), Results.NoContent());
    }

    /// <summary>
    /// Checks uploaded keys against the uploading device's registered identity (see <see cref="DirectoryKeys"/>): the
    /// envelope key must be signed for this device, each prekey must verify in the role of its field, and each one-time
    /// prekey's keyId must be the id inside its encoding. Junk is refused before anything is stored.
    /// </summary>
    private static bool TryVerifyKeys(RelayDevice device, PrekeyUploadRequest request, List<RelayOneTimePrekey> oneTime, List<RelayOneTimePrekey> kem, out IResult? failure)
    {
        failure = null;
        IdentityKey identity;
        try
        {
            identity = DirectoryKeys.Identity(device.IdentityKey, device.AgreementKey, device.AgreementKeySignature);
        }
        catch (CryptographicFailureException)
        {
            failure = RelayProblem.Create(StatusCodes.Status409Conflict, "device_conflict", "The device's registered identity cannot verify keys.");
            return false;
        }

        if (request.EnvelopeKey is not null)
        {
            try
            {
                SignedEnvelopeKey.Parse(request.EnvelopeKey).Verify(identity, device.DeviceId);
            }
            catch (CryptographicFailureException)
            {
                failure = RelayProblem.BadRequest("invalid_envelope_key", "envelopeKey is not an envelope key signed by this device's identity for this device.");
                return false;
            }
        }

        foreach ((string field, byte[]? encoded, PrekeyKind kind, long? keyId) in PrekeysOf(request, oneTime, kem))
        {
            try
            {
                PublicPrekey prekey = DirectoryKeys.ParsePrekey(encoded, field);
                prekey.Verify(identity.SigningKey, field, kind);
                if (keyId is long id && prekey.Id != id)
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"The {field} keyId differs from the id it was signed with.");
                }
            }
            catch (CryptographicFailureException)
            {
                failure = RelayProblem.BadRequest("invalid_prekey", "A prekey is not well formed, is in the wrong role, or is not signed by this device's identity.", $"At {field}.");
                return false;
            }
        }

        return true;
    }

    private static IEnumerable<(string Field, byte[] Encoded, PrekeyKind Kind, long? KeyId)> PrekeysOf(PrekeyUploadRequest request, List<RelayOneTimePrekey> oneTime, List<RelayOneTimePrekey> kem)
    {
        if (request.SignedPrekey is not null)
        {
            yield return ("signedPrekey", request.SignedPrekey, PrekeyKind.SignedX25519, null);
        }

        if (request.LastResortKemPrekey is not null)
        {
            yield return ("lastResortKemPrekey", request.LastResortKemPrekey, PrekeyKind.LastResortMLKem768, null);
        }

        for (int i = 0; i < oneTime.Count; i++)
        {
            yield return ($"oneTimePrekeys[{i.ToString(CultureInfo.InvariantCulture)}]", oneTime[i].Key, PrekeyKind.OneTimeX25519, oneTime[i].KeyId);
        }

        for (int i = 0; i < kem.Count; i++)
        {
            yield return ($"oneTimeKemPrekeys[{i.ToString(CultureInfo.InvariantCulture)}]", kem[i].Key, PrekeyKind.OneTimeMLKem768, kem[i].KeyId);
        }
    }

    // The route template, not the path: paths carry user and device ids that do not belong in every log line.
    private static string RouteOf(HttpContext http) => (http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "-";

    private static DeviceResponse ToResponse(RelayDevice device) =>
        new(device.UserId.Value, device.DeviceId.Value, device.IdentityKey, device.AgreementKey, device.AgreementKeySignature, device.EnvelopeKey);
}
