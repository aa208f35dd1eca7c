namespace TelehealthMessaging.Callbacks;

/// <summary>How the clinic calls the patient back.</summary>
public enum CallbackMedium
{
    /// <summary>A telephone call to the request's phone number.</summary>
    Phone = 0,

    /// <summary>A video call; the phone number is the fallback.</summary>
    Video = 1,
}

/// <summary>How urgently a callback is needed, as FHIR <c>request-priority</c>; later members are more urgent, so comparison works.</summary>
public enum CallbackPriority
{
    /// <summary>Normal priority (<c>routine</c>).</summary>
    Routine = 0,

    /// <summary>Before routine requests (<c>urgent</c>).</summary>
    Urgent = 1,

    /// <summary>As soon as possible, before urgent requests (<c>asap</c>).</summary>
    Asap = 2,

    /// <summary>Immediately, before everything else (<c>stat</c>).</summary>
    Stat = 3,
}

/// <summary>Where a callback request is in its lifecycle.</summary>
public enum CallbackState
{
    /// <summary>The patient asked for a callback; no clinician has taken it yet.</summary>
    Requested = 0,

    /// <summary>The clinic accepted the request.</summary>
    Accepted = 1,

    /// <summary>A call is planned for a window.</summary>
    Scheduled = 2,

    /// <summary>A call attempt is under way.</summary>
    InProgress = 3,

    /// <summary>The last call attempt was not answered; another attempt is possible while attempts remain.</summary>
    NoAnswer = 4,

    /// <summary>The call took place (terminal).</summary>
    Completed = 5,

    /// <summary>The clinic refused the request (terminal).</summary>
    Declined = 6,

    /// <summary>The patient or the clinic withdrew the request (terminal).</summary>
    Cancelled = 7,

    /// <summary>No window for the call remained (terminal).</summary>
    Expired = 8,
}

/// <summary>What a <see cref="CallbackTransition"/> did to a callback request.</summary>
public enum CallbackAction
{
    /// <summary>A clinician or the clinic accepted the request (<see cref="CallbackState.Requested"/> to <see cref="CallbackState.Accepted"/>).</summary>
    Accept = 0,

    /// <summary>A call was planned or re-planned for a window.</summary>
    Schedule = 1,

    /// <summary>A call attempt began.</summary>
    Start = 2,

    /// <summary>The call attempt was not answered.</summary>
    RecordNoAnswer = 3,

    /// <summary>The call took place.</summary>
    Complete = 4,

    /// <summary>The clinic refused the request.</summary>
    Decline = 5,

    /// <summary>The patient or the clinic withdrew the request.</summary>
    Cancel = 6,

    /// <summary>No window remained for the call.</summary>
    Expire = 7,

    /// <summary>The priority was raised; the state does not change.</summary>
    RaisePriority = 8,
}
