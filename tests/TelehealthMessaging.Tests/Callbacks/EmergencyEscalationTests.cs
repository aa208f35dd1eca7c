using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Tests.Intake;
using static TelehealthMessaging.Tests.Callbacks.CallbackFixtures;

namespace TelehealthMessaging.Tests.Callbacks;

// A red flag in the intake raises any callback linked to it to the highest priority.
public class EmergencyEscalationTests
{
    private static EmergencyAdvice Advice()
    {
        TelehealthIntakeBuilder intake = TelehealthIntakeBuilderTests.Complete();
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ChestPain, 8));
        intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ShortnessOfBreath, 7));
        return new RedFlagEvaluator().Evaluate(intake.ToAnswers())!;
    }

    [Theory]
    [InlineData(CallbackState.Requested)]
    [InlineData(CallbackState.Accepted)]
    [InlineData(CallbackState.Scheduled)]
    [InlineData(CallbackState.NoAnswer)]
    public void An_open_callback_is_raised_to_stat_and_the_rules_are_recorded(CallbackState state)
    {
        var clock = Clock();
        CallbackRequest request = InState(state, clock);
        CallbackRequest escalated = request.EscalateFor(Advice(), clock);

        Assert.Equal(CallbackPriority.Stat, escalated.Priority);
        CallbackTransition last = escalated.History[^1];
        Assert.Equal((CallbackAction.RaisePriority, state, state), (last.Action, last.From, last.To));
        Assert.Equal(CallbackRequest.SystemActor, last.Actor);
        Assert.Equal("Red flag: chest-pain-with-breathlessness", last.Reason);
    }

    [Theory]
    [InlineData(CallbackState.Completed)]
    [InlineData(CallbackState.Declined)]
    [InlineData(CallbackState.Cancelled)]
    [InlineData(CallbackState.Expired)]
    public void A_finished_callback_is_left_as_it_is(CallbackState state)
    {
        var clock = Clock();
        CallbackRequest request = InState(state, clock);
        Assert.Same(request, request.EscalateFor(Advice(), clock));
    }

    [Fact]
    public void A_stat_callback_records_nothing_more()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock, CallbackPriority.Stat);
        Assert.Same(request, request.EscalateFor(Advice(), clock));
    }
}
