using System.Collections.Immutable;

namespace TelehealthMessaging.Compliance;

/// <summary>
/// One grant of consent by a user for one purpose under one version of the privacy notice, and its withdrawal if
/// any. Records are never deleted: a withdrawal sets <see cref="WithdrawnAt"/>, and a new grant is a new record.
/// </summary>
public sealed class ConsentRecord
{
    internal ConsentRecord(string id, UserId subject, ConsentPurpose purpose, string noticeVersion, DateTimeOffset grantedAt, DateTimeOffset? withdrawnAt)
    {
        Id = id;
        Subject = subject;
        Purpose = purpose;
        NoticeVersion = noticeVersion;
        GrantedAt = grantedAt;
        WithdrawnAt = withdrawnAt;
    }

    /// <summary>The record's id (a FHIR id, used as the exported Consent's id).</summary>
    public string Id { get; }

    /// <summary>The user who consented.</summary>
    public UserId Subject { get; }

    /// <summary>What the consent allows.</summary>
    public ConsentPurpose Purpose { get; }

    /// <summary>The version of the privacy notice the user was shown, as the app names it (for example <c>2026-01</c>).</summary>
    public string NoticeVersion { get; }

    /// <summary>When the consent was granted.</summary>
    public DateTimeOffset GrantedAt { get; }

    /// <summary>When the consent was withdrawn or superseded by a grant under a newer notice; <see langword="null"/> while in force.</summary>
    public DateTimeOffset? WithdrawnAt { get; }

    /// <summary><see langword="true"/> while the consent is in force.</summary>
    public bool IsActive => WithdrawnAt is null;

    /// <summary>Describes the record (ids, purpose, version and times only).</summary>
    /// <returns>The record as text.</returns>
    public override string ToString() =>
        $"ConsentRecord {{ Id = {Id}, Subject = {Subject}, Purpose = {Purpose}, NoticeVersion = {NoticeVersion}, GrantedAt = {Fhir.FhirFormat.DateTime(GrantedAt)}, WithdrawnAt = {(WithdrawnAt is { } w ? Fhir.FhirFormat.DateTime(w) : "(none)")} }}";

    internal ConsentRecord Withdrawn(DateTimeOffset at) => new(Id, Subject, Purpose, NoticeVersion, GrantedAt, at);
}

/// <summary>Thrown when an operation needs consents that were never granted or have been withdrawn. Nothing was processed.</summary>
public sealed class ConsentRequiredException : TelehealthException
{
    /// <summary>Creates the exception for the purposes that are missing.</summary>
    /// <param name="missingPurposes">The purposes without a consent in force.</param>
    public ConsentRequiredException(IEnumerable<ConsentPurpose> missingPurposes)
        : this(missingPurposes?.Distinct().Order().ToList() ?? throw new ArgumentNullException(nameof(missingPurposes)))
    {
    }

    private ConsentRequiredException(List<ConsentPurpose> missing)
        : base(TelehealthErrorCode.ConsentRequired, $"Consent is required for: {string.Join(", ", missing)}.")
    {
        MissingPurposes = missing.AsReadOnly();
    }

    /// <summary>The purposes without a consent in force, in enum order.</summary>
    public IReadOnlyList<ConsentPurpose> MissingPurposes { get; }
}

/// <summary>Declares which consents must be in force before an intake is accepted.</summary>
public sealed class IntakeConsentRequirement
{
    /// <summary>Creates a requirement.</summary>
    /// <param name="purposes">The purposes that must all be granted; none means no consent is checked.</param>
    /// <exception cref="ArgumentOutOfRangeException">A purpose is not a defined value.</exception>
    public IntakeConsentRequirement(IEnumerable<ConsentPurpose> purposes)
    {
        ArgumentNullException.ThrowIfNull(purposes);
        // Immutable: the shared HealthIntake instance must not be changeable through a cast.
        ImmutableSortedSet<ConsentPurpose> set = purposes.ToImmutableSortedSet();
        if (set.Any(p => !Enum.IsDefined(p)))
        {
            throw new ArgumentOutOfRangeException(nameof(purposes), "A purpose is not a defined ConsentPurpose.");
        }

        Purposes = set;
    }

    /// <summary>
    /// The default for intakes that collect health data: consent to telehealth treatment and the separate consent to
    /// processing of health data (PIPA Art. 23, GDPR Art. 9).
    /// </summary>
    public static IntakeConsentRequirement HealthIntake { get; } = new([ConsentPurpose.TelehealthTreatment, ConsentPurpose.HealthDataProcessing]);

    /// <summary>The purposes that must all be granted.</summary>
    public IReadOnlySet<ConsentPurpose> Purposes { get; }

    /// <summary>Throws unless <paramref name="subject"/> has a consent in force for every purpose.</summary>
    /// <param name="ledger">The ledger to check.</param>
    /// <param name="subject">The user whose intake it is.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when every consent is in force.</returns>
    /// <exception cref="ConsentRequiredException">A consent is missing; the exception names the missing purposes only.</exception>
    public Task EnsureGrantedAsync(ConsentLedger ledger, UserId subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        return ledger.RequireAsync(subject, Purposes, cancellationToken);
    }

    /// <summary>Lists the purposes.</summary>
    /// <returns>The requirement as text.</returns>
    public override string ToString() => $"IntakeConsentRequirement {{ Purposes = [{string.Join(", ", Purposes)}] }}";
}
