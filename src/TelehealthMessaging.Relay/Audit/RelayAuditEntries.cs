using TelehealthMessaging.Compliance;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>
/// The audit entries the relay appends, one factory per audited operation: typed ids, enums and counts only. The
/// acting device is a subject wherever it is not already the subject itself, because the record's own device is the
/// relay instance that recorded it.
/// </summary>
internal static class RelayAuditEntries
{
    /// <summary>
    /// A registration: recorded as registered (also when repeated, so that a retry after an audit failure is recorded),
    /// refused for a revoked id, or refused as an identity-key change when the id is bound to other keys or another user.
    /// </summary>
    public static AuditEntry Registration(RelayDevice device, DeviceRegistrationOutcome outcome) => outcome switch
    {
        DeviceRegistrationOutcome.Created or DeviceRegistrationOutcome.AlreadyRegistered =>
            new(AuditAction.DeviceRegistered, device.UserId, [AuditSubject.Of(device.DeviceId), AuditSubject.Of(device.UserId)]),
        DeviceRegistrationOutcome.Revoked =>
            new(AuditAction.DeviceRegistered, device.UserId, [AuditSubject.Of(device.DeviceId), AuditSubject.Of(device.UserId)], AuditOutcome.Denied),
        _ => new(AuditAction.IdentityKeyChanged, device.UserId, [AuditSubject.Of(device.DeviceId), AuditSubject.Of(device.UserId)], AuditOutcome.Denied),
    };

    public static AuditEntry Revocation(RelayDevice actor, DeviceId revoked) =>
        new(AuditAction.DeviceRevoked, actor.UserId, WithActor([AuditSubject.Of(revoked)], actor));

    public static AuditEntry Membership(RelayOperation operation, ClinicId clinic, RelayDevice device) =>
        new(operation == RelayOperation.JoinClinic ? AuditAction.ClinicJoined : AuditAction.ClinicLeft, device.UserId, [AuditSubject.Of(clinic), AuditSubject.Of(device.DeviceId)]);

    /// <summary>The winner's claim; <see langword="null"/> when <paramref name="claimer"/> lost (its call only reads the winner).</summary>
    public static AuditEntry? WorkItemClaim(RelayWorkItemClaim claim, RelayDevice claimer) =>
        claim.DeviceId == claimer.DeviceId
            ? new(AuditAction.WorkItemClaimed, claim.UserId, [AuditSubject.Of(claim.ClinicId), AuditSubject.Create(AuditSubjectKind.WorkItem, claim.ItemId), AuditSubject.Of(claim.DeviceId)])
            : null;

    public static AuditEntry BundleClaim(RelayDevice claimer, RelayDevice owner) =>
        new(AuditAction.PrekeyBundleClaimed, claimer.UserId, WithActor([AuditSubject.Of(owner.DeviceId), AuditSubject.Of(owner.UserId)], claimer));

    /// <summary>A purge that deleted expired envelopes, done by the relay itself: the instance is the actor.</summary>
    public static AuditEntry Purge(DeviceId instance, int envelopes) =>
        new(AuditAction.RetentionPurge, new UserId(instance.Value)) { Count = envelopes };

    /// <summary>An export of the audit trail by the operator, through the instance: the instance is the actor.</summary>
    public static AuditEntry Export(DeviceId instance, long records) =>
        new(AuditAction.ExportMade, new UserId(instance.Value), [AuditSubject.Of(instance)]) { Count = records };

    private static List<AuditSubject> WithActor(List<AuditSubject> subjects, RelayDevice actor)
    {
        AuditSubject device = AuditSubject.Of(actor.DeviceId);
        if (!subjects.Contains(device))
        {
            subjects.Add(device);
        }

        return subjects;
    }
}
