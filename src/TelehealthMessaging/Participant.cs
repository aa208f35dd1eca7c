namespace TelehealthMessaging;

/// <summary>The part a participant plays in a conversation or a callback.</summary>
public enum ParticipantRole
{
    /// <summary>A patient (exported as a FHIR <c>Patient</c>).</summary>
    Patient = 0,

    /// <summary>A clinician acting for a clinic (exported as a FHIR <c>Practitioner</c>).</summary>
    Clinician = 1,

    /// <summary>A clinic as an organisation, for example a shared inbox (exported as a FHIR <c>Organization</c>).</summary>
    Clinic = 2,

    /// <summary>The SDK or the host app acting on its own, for example when a callback expires (exported as a FHIR <c>Device</c>).</summary>
    System = 3,
}

/// <summary>A user together with the role in which they act.</summary>
/// <param name="Id">The app's identifier of the user.</param>
/// <param name="Role">The role in which the user acts.</param>
public readonly record struct Participant(UserId Id, ParticipantRole Role)
{
    /// <summary>Creates a patient participant.</summary>
    /// <param name="id">The patient's user id.</param>
    /// <returns>A participant with <see cref="ParticipantRole.Patient"/>.</returns>
    public static Participant Patient(UserId id) => new(id, ParticipantRole.Patient);

    /// <summary>Creates a clinician participant.</summary>
    /// <param name="id">The clinician's user id.</param>
    /// <returns>A participant with <see cref="ParticipantRole.Clinician"/>.</returns>
    public static Participant Clinician(UserId id) => new(id, ParticipantRole.Clinician);

    /// <summary>Creates a clinic participant.</summary>
    /// <param name="id">The clinic's user id.</param>
    /// <returns>A participant with <see cref="ParticipantRole.Clinic"/>.</returns>
    public static Participant Clinic(UserId id) => new(id, ParticipantRole.Clinic);

    /// <summary>Creates a system participant, the actor of automatic transitions.</summary>
    /// <param name="id">An id naming the automatic actor (for example the app's service account).</param>
    /// <returns>A participant with <see cref="ParticipantRole.System"/>.</returns>
    public static Participant System(UserId id) => new(id, ParticipantRole.System);

    // default(Participant) carries a default UserId whose Value is null: treat it as "not given".
    internal bool IsSpecified => Id.Value is not null && Enum.IsDefined(Role);

    // The FHIR resource type this participant is exported as; ids are FHIR ids already, so no escaping is needed.
    internal string FhirResourceType => Role switch
    {
        ParticipantRole.Patient => "Patient",
        ParticipantRole.Clinician => "Practitioner",
        ParticipantRole.Clinic => "Organization",
        ParticipantRole.System => "Device",
        _ => throw new InvalidOperationException("Unknown participant role."),
    };

    internal string FhirReference => FhirResourceType + "/" + Id.Value;

    internal static void ThrowIfUnspecified(Participant participant, string paramName)
    {
        if (!participant.IsSpecified)
        {
            throw new ArgumentException("The participant has no id or an undefined role.", paramName);
        }
    }
}
