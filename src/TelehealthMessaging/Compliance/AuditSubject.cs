namespace TelehealthMessaging.Compliance;

/// <summary>
/// What an audited action was about: a kind and an opaque id. Created only from the SDK's typed ids, so an audit
/// record can never hold free text.
/// </summary>
public readonly record struct AuditSubject
{
    private AuditSubject(AuditSubjectKind kind, string id)
    {
        Kind = kind;
        Id = id;
    }

    /// <summary>What <see cref="Id"/> identifies.</summary>
    public AuditSubjectKind Kind { get; }

    /// <summary>The id (1 to 64 characters of <c>A-Z a-z 0-9 - .</c>).</summary>
    public string Id { get; }

    /// <summary>A user.</summary>
    /// <param name="id">The user's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(UserId id) => Create(AuditSubjectKind.User, id.Value);

    /// <summary>A device.</summary>
    /// <param name="id">The device's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(DeviceId id) => Create(AuditSubjectKind.Device, id.Value);

    /// <summary>A conversation.</summary>
    /// <param name="id">The conversation's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(ConversationId id) => Create(AuditSubjectKind.Conversation, id.Value);

    /// <summary>A message.</summary>
    /// <param name="id">The message's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(MessageId id) => Create(AuditSubjectKind.Message, id.Value);

    /// <summary>An intake submission.</summary>
    /// <param name="id">The submission's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(IntakeSubmissionId id) => Create(AuditSubjectKind.IntakeSubmission, id.Value);

    /// <summary>A callback request.</summary>
    /// <param name="id">The request's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(CallbackRequestId id) => Create(AuditSubjectKind.CallbackRequest, id.Value);

    /// <summary>A clinic.</summary>
    /// <param name="id">The clinic's id.</param>
    /// <returns>The subject.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public static AuditSubject Of(ClinicId id) => Create(AuditSubjectKind.Clinic, id.Value);

    /// <summary>A consent record.</summary>
    /// <param name="consent">The record.</param>
    /// <returns>The subject.</returns>
    public static AuditSubject Of(ConsentRecord consent)
    {
        ArgumentNullException.ThrowIfNull(consent);
        return Create(AuditSubjectKind.Consent, consent.Id);
    }

    /// <summary>Returns <c>Kind/Id</c>.</summary>
    /// <returns>The subject as text.</returns>
    public override string ToString() => $"{Kind}/{Id}";

    internal static AuditSubject Create(AuditSubjectKind kind, string? id)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind));
        }

        if (!Identifier.IsValid(id))
        {
            throw new ArgumentException("The id must be a valid identifier, not the default value.", nameof(id));
        }

        return new AuditSubject(kind, id);
    }
}
