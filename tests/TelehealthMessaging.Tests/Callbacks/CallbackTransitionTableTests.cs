using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Callbacks;
using static TelehealthMessaging.Tests.Callbacks.CallbackFixtures;

namespace TelehealthMessaging.Tests.Callbacks;

// The lifecycle stated independently of the library's table: every (state, action) pair is tried.
public class CallbackTransitionTableTests
{
    private static readonly Dictionary<CallbackAction, CallbackState[]> AllowedFrom = new()
    {
        [CallbackAction.Accept] = [CallbackState.Requested],
        [CallbackAction.Schedule] = [CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer],
        [CallbackAction.Start] = [CallbackState.Scheduled, CallbackState.NoAnswer],
        [CallbackAction.RecordNoAnswer] = [CallbackState.InProgress],
        [CallbackAction.Complete] = [CallbackState.InProgress],
        [CallbackAction.Decline] = [CallbackState.Requested],
        [CallbackAction.Cancel] = [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer],
        [CallbackAction.Expire] = [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.NoAnswer],
        [CallbackAction.RaisePriority] =
            [CallbackState.Requested, CallbackState.Accepted, CallbackState.Scheduled, CallbackState.InProgress, CallbackState.NoAnswer],
    };

    private static readonly Dictionary<CallbackAction, CallbackState?> Target = new()
    {
        [CallbackAction.Accept] = CallbackState.Accepted,
        [CallbackAction.Schedule] = CallbackState.Scheduled,
        [CallbackAction.Start] = CallbackState.InProgress,
        [CallbackAction.RecordNoAnswer] = CallbackState.NoAnswer,
        [CallbackAction.Complete] = CallbackState.Completed,
        [CallbackAction.Decline] = CallbackState.Declined,
        [CallbackAction.Cancel] = CallbackState.Cancelled,
        [CallbackAction.Expire] = CallbackState.Expired,
        [CallbackAction.RaisePriority] = null,
    };

    public static TheoryData<CallbackState, CallbackAction> InvalidPairs()
    {
        var data = new TheoryData<CallbackState, CallbackAction>();
        foreach (CallbackState state in Enum.GetValues<CallbackState>())
        {
            foreach (CallbackAction action in Enum.GetValues<CallbackAction>())
            {
                if (!AllowedFrom[action].Contains(state))
                {
                    data.Add(state, action);
                }
            }
        }

        return data;
    }

    public static TheoryData<CallbackState, CallbackAction> ValidPairs()
    {
        var data = new TheoryData<CallbackState, CallbackAction>();
        foreach (CallbackState state in Enum.GetValues<CallbackState>())
        {
            foreach (CallbackAction action in Enum.GetValues<CallbackAction>())
            {
                if (AllowedFrom[action].Contains(state))
                {
                    data.Add(state, action);
                }
            }
        }

        return data;
    }

    [Fact]
    public void The_tables_cover_every_pair_of_state_and_action()
    {
        int pairs = Enum.GetValues<CallbackState>().Length * Enum.GetValues<CallbackAction>().Length;
        Assert.Equal(pairs, InvalidPairs().Count + ValidPairs().Count);
        Assert.Equal(Enum.GetValues<CallbackAction>().Length, AllowedFrom.Count);
    }

    [Theory]
    [MemberData(nameof(InvalidPairs))]
    public void An_invalid_transition_is_rejected_naming_both_states_and_changes_nothing(CallbackState state, CallbackAction action)
    {
        var clock = Clock();
        CallbackRequest request = InState(state, clock);
        int historyBefore = request.History.Count;
        CallbackState expectedTo = Target[action] ?? state;

        // Past every window, so Expire is refused for its state alone.
        clock.Advance(TimeSpan.FromDays(60));
        var ex = Assert.Throws<InvalidCallbackTransitionException>(() => Perform(request, action, clock));

        Assert.Equal(TelehealthErrorCode.InvalidTransition, ex.ErrorCode);
        Assert.Equal(state, ex.From);
        Assert.Equal(expectedTo, ex.To);
        Assert.Equal(action, ex.Action);
        Assert.Contains(state.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedTo.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Equal(state, request.State);
        Assert.Equal(historyBefore, request.History.Count);
    }

    [Theory]
    [MemberData(nameof(ValidPairs))]
    public void A_valid_transition_moves_to_its_target_and_is_recorded(CallbackState state, CallbackAction action)
    {
        var clock = Clock();
        CallbackRequest request = InState(state, clock);
        clock.Advance(TimeSpan.FromDays(60));

        CallbackRequest after = Perform(request, action, clock);

        Assert.Equal(Target[action] ?? state, after.State);
        CallbackTransition last = after.History[^1];
        Assert.Equal(action, last.Action);
        Assert.Equal(state, last.From);
        Assert.Equal(after.State, last.To);
        Assert.Equal(clock.GetUtcNow(), last.At);
        Assert.Equal(state, request.State);
    }

    // The lifecycle's edges as (from, to) pairs; self-loops come from re-scheduling and raising the priority.
    private static readonly HashSet<(CallbackState From, CallbackState To)> Edges =
    [
        (CallbackState.Requested, CallbackState.Requested), (CallbackState.Requested, CallbackState.Accepted),
        (CallbackState.Requested, CallbackState.Declined), (CallbackState.Requested, CallbackState.Cancelled),
        (CallbackState.Requested, CallbackState.Expired),
        (CallbackState.Accepted, CallbackState.Accepted), (CallbackState.Accepted, CallbackState.Scheduled),
        (CallbackState.Accepted, CallbackState.Cancelled), (CallbackState.Accepted, CallbackState.Expired),
        (CallbackState.Scheduled, CallbackState.Scheduled), (CallbackState.Scheduled, CallbackState.InProgress),
        (CallbackState.Scheduled, CallbackState.Cancelled), (CallbackState.Scheduled, CallbackState.Expired),
        (CallbackState.InProgress, CallbackState.InProgress), (CallbackState.InProgress, CallbackState.Completed),
        (CallbackState.InProgress, CallbackState.NoAnswer),
        (CallbackState.NoAnswer, CallbackState.NoAnswer), (CallbackState.NoAnswer, CallbackState.InProgress),
        (CallbackState.NoAnswer, CallbackState.Scheduled), (CallbackState.NoAnswer, CallbackState.Cancelled),
        (CallbackState.NoAnswer, CallbackState.Expired),
    ];

    public static TheoryData<CallbackState, CallbackState> StatePairs()
    {
        var data = new TheoryData<CallbackState, CallbackState>();
        foreach (CallbackState from in Enum.GetValues<CallbackState>())
        {
            foreach (CallbackState to in Enum.GetValues<CallbackState>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StatePairs))]
    public void Every_pair_of_states_is_reachable_in_one_step_exactly_when_it_is_an_edge_of_the_lifecycle(CallbackState from, CallbackState to)
    {
        var leadingThere = Enum.GetValues<CallbackAction>().Where(a => (Target[a] ?? from) == to).ToList();
        int succeeded = 0;
        foreach (CallbackAction action in leadingThere)
        {
            var clock = Clock();
            CallbackRequest request = InState(from, clock);
            clock.Advance(TimeSpan.FromDays(60));
            try
            {
                Assert.Equal(to, Perform(request, action, clock).State);
                succeeded++;
            }
            catch (InvalidCallbackTransitionException ex)
            {
                Assert.Equal((TelehealthErrorCode.InvalidTransition, from, to), (ex.ErrorCode, ex.From, ex.To));
            }
        }

        Assert.Equal(Edges.Contains((from, to)), succeeded > 0);
    }

    private static CallbackRequest Perform(CallbackRequest request, CallbackAction action, FakeTimeProvider clock) => action switch
    {
        CallbackAction.Accept => request.Accept(Clinician, clock),
        CallbackAction.Schedule => request.Schedule(Clinician, WindowFromNow(clock), clock),
        CallbackAction.Start => request.Start(Clinician, clock),
        CallbackAction.RecordNoAnswer => request.RecordNoAnswer(Clinician, clock),
        CallbackAction.Complete => request.Complete(Clinician, clock),
        CallbackAction.Decline => request.Decline(Clinician, "Out of scope", clock),
        CallbackAction.Cancel => request.Cancel(Clinician, "Duplicate", clock),
        CallbackAction.Expire => request.Expire(clock),
        CallbackAction.RaisePriority => request.RaisePriority(CallbackPriority.Stat, Clinician, "Red flag", clock),
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };
}
