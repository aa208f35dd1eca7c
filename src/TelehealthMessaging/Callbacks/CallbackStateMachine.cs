using System.Collections.Frozen;

namespace TelehealthMessaging.Callbacks;

// The whole callback lifecycle in one table: for each action, the states it may start from, the state it leads to
// (null: the state does not change) and the roles that may perform it. Guards that depend on more than the state
// (attempts left, windows left) live in CallbackRequest.Apply, next to the data they read.
internal static class CallbackStateMachine
{
    private static readonly CallbackState[] OpenStates =
        [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.InProgress, CallbackState.NoAnswer];

    private static readonly ParticipantRole[] ClinicSide = [ParticipantRole.Clinician, ParticipantRole.Clinic];

    private static readonly FrozenDictionary<CallbackAction, Rule> Rules = new Dictionary<CallbackAction, Rule>
    {
        [CallbackAction.Accept] = new([CallbackState.Requested], CallbackState.Accepted, ClinicSide),

        // Re-scheduling a scheduled call and scheduling a retry after no answer are both allowed.
        [CallbackAction.Schedule] = new([CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer], CallbackState.Scheduled, ClinicSide),
        [CallbackAction.Start] = new([CallbackState.Scheduled, CallbackState.NoAnswer], CallbackState.InProgress, ClinicSide),
        [CallbackAction.RecordNoAnswer] = new([CallbackState.InProgress], CallbackState.NoAnswer, ClinicSide),
        [CallbackAction.Complete] = new([CallbackState.InProgress], CallbackState.Completed, ClinicSide),

        // Declining is refusing the request; withdrawing after accepting it is a cancellation.
        [CallbackAction.Decline] = new([CallbackState.Requested], CallbackState.Declined, ClinicSide),

        // A call under way ends as completed or unanswered, never cancelled.
        [CallbackAction.Cancel] = new(
            [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer],
            CallbackState.Cancelled,
            [ParticipantRole.Patient, ParticipantRole.Clinician, ParticipantRole.Clinic]),
        [CallbackAction.Expire] = new(
            [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer],
            CallbackState.Expired,
            [ParticipantRole.System]),

        // Red flags raise priority automatically (System); clinicians may escalate by hand.
        [CallbackAction.RaisePriority] = new(OpenStates, null, [ParticipantRole.Clinician, ParticipantRole.Clinic, ParticipantRole.System]),
    }.ToFrozenDictionary();

    public static bool IsTerminal(CallbackState state) => Array.IndexOf(OpenStates, state) < 0;

    public static bool IsAllowedFrom(CallbackAction action, CallbackState from) => Array.IndexOf(Rules[action].From, from) >= 0;

    public static bool IsAllowedFor(CallbackAction action, ParticipantRole role) => Array.IndexOf(Rules[action].Roles, role) >= 0;

    public static CallbackState Target(CallbackAction action, CallbackState from) => Rules[action].To ?? from;

    private sealed record Rule(CallbackState[] From, CallbackState? To, ParticipantRole[] Roles);
}
