namespace TelehealthMessaging.Relay;

/// <summary>What an authenticated request asks the relay to do.</summary>
public enum RelayOperation
{
    /// <summary>Register a device (the device's own key signed the request).</summary>
    RegisterDevice,

    /// <summary>Upload the device's own prekeys.</summary>
    UploadPrekeys,

    /// <summary>List another user's devices.</summary>
    ListDevices,

    /// <summary>Claim a prekey bundle of another user's device.</summary>
    ClaimPrekeyBundle,

    /// <summary>Submit envelopes to other devices' mailboxes.</summary>
    SubmitEnvelopes,

    /// <summary>Fetch from the device's own mailbox.</summary>
    FetchEnvelopes,

    /// <summary>Acknowledge (delete) envelopes in the device's own mailbox.</summary>
    AcknowledgeEnvelopes,

    /// <summary>Open the WebSocket push channel for the device's own mailbox.</summary>
    Connect,

    /// <summary>Upload an attachment blob.</summary>
    UploadAttachment,

    /// <summary>Download an attachment blob.</summary>
    DownloadAttachment,

    /// <summary>Revoke a device of the signing device's own user (itself included).</summary>
    RevokeDevice,

    /// <summary>
    /// Add the signing device to a clinic's triage devices. Members receive the clinic's intakes and callback requests,
    /// so a production host must decide here who may join (for example from a staff role in an OIDC token).
    /// </summary>
    JoinClinic,

    /// <summary>Remove the signing device from a clinic's triage devices.</summary>
    LeaveClinic,

    /// <summary>List a clinic's triage devices.</summary>
    ListClinicDevices,

    /// <summary>Claim a clinic work item (first claim wins); only member devices get this far.</summary>
    ClaimWorkItem,
}

/// <summary>Describes an authenticated relay request to an <see cref="IRelayAuthorizer"/>.</summary>
/// <param name="HttpContext">The request, for app-level credentials such as an OIDC bearer token.</param>
/// <param name="DeviceId">The device whose identity key signed the request.</param>
/// <param name="UserId">The user that device is registered to.</param>
/// <param name="Operation">What the request asks for.</param>
/// <param name="TargetUserId">The user whose devices or keys are read or revoked, for listing, bundle claims and revocation; otherwise <see langword="null"/>.</param>
/// <param name="TargetClinicId">The clinic, for the clinic operations; otherwise <see langword="null"/>.</param>
public sealed record RelayAuthorizationContext(HttpContext HttpContext, DeviceId DeviceId, UserId UserId, RelayOperation Operation, UserId? TargetUserId, ClinicId? TargetClinicId = null);

/// <summary>
/// Lets the host app add its own checks after the relay has verified the device signature: for example that an
/// OIDC token binds the user to the device, or that both users belong to one clinic. The default allows everything,
/// including <see cref="RelayOperation.JoinClinic"/>: a production host must restrict clinic membership here, or any
/// registered device could join a clinic and receive its patients' intakes.
/// </summary>
public interface IRelayAuthorizer
{
    /// <summary>Returns <see langword="true"/> to let the request proceed; <see langword="false"/> answers 403.</summary>
    /// <param name="context">The authenticated request.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Whether the request may proceed.</returns>
    ValueTask<bool> AuthorizeAsync(RelayAuthorizationContext context, CancellationToken cancellationToken);
}

internal sealed class AllowAllRelayAuthorizer : IRelayAuthorizer
{
    public ValueTask<bool> AuthorizeAsync(RelayAuthorizationContext context, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}
