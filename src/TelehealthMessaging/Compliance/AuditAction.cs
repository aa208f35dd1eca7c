namespace TelehealthMessaging.Compliance;

/// <summary>A security-relevant event recorded in an <see cref="AuditLog"/>.</summary>
public enum AuditAction
{
    /// <summary>A device was registered for a user.</summary>
    DeviceRegistered = 1,

    /// <summary>A peer's or this device's identity key changed.</summary>
    IdentityKeyChanged = 2,

    /// <summary>A safety number was verified out of band.</summary>
    SafetyNumberVerified = 3,

    /// <summary>A device was revoked.</summary>
    DeviceRevoked = 4,

    /// <summary>An intake was submitted.</summary>
    IntakeSubmitted = 5,

    /// <summary>An intake was opened for viewing.</summary>
    IntakeViewed = 6,

    /// <summary>An intake was exported (for example as FHIR).</summary>
    IntakeExported = 7,

    /// <summary>A message was sent.</summary>
    MessageSent = 8,

    /// <summary>A message was read.</summary>
    MessageRead = 9,

    /// <summary>A callback request changed state; <see cref="AuditRecord.Code"/> names the transition.</summary>
    CallbackTransition = 10,

    /// <summary>A consent was granted; <see cref="AuditRecord.Code"/> names the purpose.</summary>
    ConsentGranted = 11,

    /// <summary>A consent was withdrawn; <see cref="AuditRecord.Code"/> names the purpose.</summary>
    ConsentWithdrawn = 12,

    /// <summary>Data was erased (crypto-shredded) on request.</summary>
    DataErased = 13,

    /// <summary>Data was erased because its retention period ended; <see cref="AuditEntry.Count"/> may say how many items.</summary>
    RetentionPurge = 14,

    /// <summary>Data other than an intake was exported (for example this audit log).</summary>
    ExportMade = 15,

    /// <summary>The local store was locked.</summary>
    StoreLocked = 16,

    /// <summary>The local store was unlocked.</summary>
    StoreUnlocked = 17,

    /// <summary>A device joined a clinic's triage devices (recorded by the relay).</summary>
    ClinicJoined = 18,

    /// <summary>A device left a clinic's triage devices (recorded by the relay).</summary>
    ClinicLeft = 19,

    /// <summary>A device won the claim on a clinic work item (recorded by the relay).</summary>
    WorkItemClaimed = 20,

    /// <summary>A device's prekey bundle was claimed to start a session with it (recorded by the relay).</summary>
    PrekeyBundleClaimed = 21,
}

/// <summary>How an audited action ended.</summary>
public enum AuditOutcome
{
    /// <summary>The action succeeded.</summary>
    Success = 0,

    /// <summary>The action was refused (for example for a missing consent or a policy); nothing was done.</summary>
    Denied = 1,

    /// <summary>The action was attempted and failed.</summary>
    Failed = 2,
}

/// <summary>What an <see cref="AuditSubject"/> identifies.</summary>
public enum AuditSubjectKind
{
    /// <summary>A <see cref="UserId"/>.</summary>
    User = 1,

    /// <summary>A <see cref="DeviceId"/>.</summary>
    Device = 2,

    /// <summary>A <see cref="ConversationId"/>.</summary>
    Conversation = 3,

    /// <summary>A <see cref="MessageId"/>.</summary>
    Message = 4,

    /// <summary>An <see cref="IntakeSubmissionId"/>.</summary>
    IntakeSubmission = 5,

    /// <summary>A <see cref="CallbackRequestId"/>.</summary>
    CallbackRequest = 6,

    /// <summary>A <see cref="ClinicId"/>.</summary>
    Clinic = 7,

    /// <summary>A <see cref="ConsentRecord"/>, by <see cref="ConsentRecord.Id"/>.</summary>
    Consent = 8,

    /// <summary>A clinic work item (an intake or callback request a clinic's devices claim), by the id the clinic gave it.</summary>
    WorkItem = 9,
}
