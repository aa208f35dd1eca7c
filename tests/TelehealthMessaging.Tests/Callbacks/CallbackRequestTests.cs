using TelehealthMessaging.Callbacks;
using static TelehealthMessaging.Tests.Callbacks.CallbackFixtures;

namespace TelehealthMessaging.Tests.Callbacks;

public class CallbackRequestTests
{
    [Fact]
    public void Create_starts_requested_with_the_given_details()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock, CallbackPriority.Asap);

        Assert.Equal(CallbackState.Requested, request.State);
        Assert.Equal(CallbackPriority.Asap, request.Priority);
        Assert.Equal(ReasonCanary, request.Reason);
        Assert.Equal(PhoneCanary, request.PhoneNumber.Value);
        Assert.Equal(new IntakeSubmissionId("intake-1"), request.LinkedIntakeId);
        Assert.Equal(Start, request.CreatedAt);
        Assert.Equal(Start, request.LastModified);
        Assert.Equal(2, request.PreferredWindows.Count);
        Assert.Equal(3, request.MaxAttempts);
        Assert.Empty(request.History);
        Assert.False(request.IsTerminal);
        Assert.Null(request.AssignedClinician);
    }

    [Fact]
    public void Create_reports_every_problem_at_once_by_field_and_code()
    {
        var clock = Clock();
        var closed = new CallbackWindow(Start.AddHours(-3), Start.AddHours(-1));

        var ex = Assert.Throws<CallbackValidationException>(() => CallbackRequest.Create(
            Patient, Clinic, "   ", "555-0100", (CallbackMedium)7, (CallbackPriority)9, [closed, default], default(IntakeSubmissionId), clock));

        Assert.Equal(TelehealthErrorCode.ValidationFailed, ex.ErrorCode);
        Assert.Equal(
            new[]
            {
                ("reason", "required"), ("phoneNumber", "invalid"), ("medium", "invalid"), ("priority", "invalid"),
                ("preferredWindows[0]", "in-the-past"), ("preferredWindows[1]", "invalid"), ("linkedIntakeId", "invalid"),
            },
            ex.Errors.Select(e => (e.Field, e.Code)).ToArray());
    }

    [Fact]
    public void Create_limits_reason_length_control_characters_and_window_count()
    {
        var clock = Clock();
        CallbackWindow window = WindowFromNow(clock);

        var ex = Assert.Throws<CallbackValidationException>(() => CallbackRequest.Create(
            Patient, Clinic, new string('a', CallbackRequest.MaxReasonLength) + "\u0007", PhoneCanary, CallbackMedium.Phone,
            CallbackPriority.Routine, Enumerable.Repeat(window, CallbackRequest.MaxPreferredWindows + 1), null, clock));

        Assert.Equal(
            new[] { ("reason", "too-long"), ("reason", "invalid"), ("preferredWindows", "too-many") },
            ex.Errors.Select(e => (e.Field, e.Code)).ToArray());
    }

    [Fact]
    public void Create_requires_a_window_and_accepts_one_that_has_begun()
    {
        var clock = Clock();
        var ex = Assert.Throws<CallbackValidationException>(() => CallbackRequest.Create(
            Patient, Clinic, "Dizzy", PhoneCanary, CallbackMedium.Phone, CallbackPriority.Routine, [], null, clock));
        Assert.Equal(("preferredWindows", "required"), (ex.Errors.Single().Field, ex.Errors.Single().Code));

        var begun = new CallbackWindow(Start.AddHours(-1), Start.AddHours(1));
        CallbackRequest request = CallbackRequest.Create(Patient, Clinic, " Dizzy ", PhoneCanary, CallbackMedium.Phone, CallbackPriority.Routine, [begun], null, clock);
        Assert.Equal("Dizzy", request.Reason);
    }

    [Fact]
    public void Create_rejects_participants_in_the_wrong_role_as_programmer_errors()
    {
        var clock = Clock();
        Assert.Throws<ArgumentException>(() => CallbackRequest.Create(
            Clinician, Clinic, "Dizzy", PhoneCanary, CallbackMedium.Phone, CallbackPriority.Routine, [WindowFromNow(clock)], null, clock));
        Assert.Throws<ArgumentException>(() => CallbackRequest.Create(
            Patient, Clinician, "Dizzy", PhoneCanary, CallbackMedium.Phone, CallbackPriority.Routine, [WindowFromNow(clock)], null, clock));
        Assert.Throws<ArgumentException>(() => CallbackRequest.Create(
            default, Clinic, "Dizzy", PhoneCanary, CallbackMedium.Phone, CallbackPriority.Routine, [WindowFromNow(clock)], null, clock));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewRequest(clock, policy: new CallbackPolicy { MaxAttempts = 0 }));
    }

    [Theory]
    [InlineData("+15550100199", "+15550100199")]
    [InlineData("+1 (555) 010-0199", "+15550100199")]
    [InlineData(" +44 20.7946.0958 ", "+442079460958")]
    [InlineData("+12345678", "+12345678")]
    [InlineData("+123456789012345", "+123456789012345")]
    public void Phone_numbers_are_normalised_to_e164(string input, string expected)
    {
        Assert.Equal(expected, PhoneNumber.Parse(input).Value);
        Assert.True(PhoneNumber.TryParse(input, out PhoneNumber number));
        Assert.Equal(PhoneNumber.Parse(expected), number);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("15550100199")]
    [InlineData("+05550100199")]
    [InlineData("+1234567")]
    [InlineData("+1234567890123456")]
    [InlineData("+1555abc0199")]
    [InlineData("+1 555 010 0199 ext 5")]
    [InlineData("++15550100199")]
    [InlineData("+1-------------------------------------------5550100199")]
    public void Phone_numbers_that_are_not_e164_are_rejected(string? input)
    {
        Assert.False(PhoneNumber.TryParse(input, out _));
        var ex = Assert.Throws<CallbackValidationException>(() => PhoneNumber.Parse(input));
        Assert.Equal("phoneNumber", ex.Errors.Single().Field);
    }

    [Fact]
    public void A_window_must_end_after_it_starts()
    {
        Assert.Throws<ArgumentException>(() => new CallbackWindow(Start, Start));
        Assert.Throws<ArgumentException>(() => new CallbackWindow(Start, Start.AddMinutes(-1)));
    }

    [Fact]
    public void The_happy_path_records_actor_time_and_reason_of_every_step()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock);
        clock.Advance(TimeSpan.FromMinutes(5));
        request = request.Accept(Clinician, clock, "On it");
        clock.Advance(TimeSpan.FromMinutes(5));
        CallbackWindow window = WindowFromNow(clock);
        request = request.Schedule(Clinician, window, clock);
        clock.Advance(TimeSpan.FromHours(1));
        request = request.Start(Clinician, clock);
        clock.Advance(TimeSpan.FromMinutes(10));
        request = request.Complete(Clinician, clock, "Advised rest");

        Assert.Equal(CallbackState.Completed, request.State);
        Assert.True(request.IsTerminal);
        Assert.Equal(window, request.ScheduledWindow);
        Assert.Equal(1, request.Attempts);
        Assert.Equal(Clinician, request.AssignedClinician);
        Assert.Equal(clock.GetUtcNow(), request.LastModified);
        Assert.Equal(
            new[] { CallbackAction.Accept, CallbackAction.Schedule, CallbackAction.Start, CallbackAction.Complete },
            request.History.Select(t => t.Action).ToArray());
        Assert.All(request.History, t => Assert.Equal(Clinician, t.Actor));
        Assert.Equal(Start.AddMinutes(5), request.History[0].At);
        Assert.Equal("On it", request.History[0].Reason);
        Assert.Equal(window, request.History[1].Window);
        Assert.Equal("Advised rest", request.History[3].Reason);
    }

    [Fact]
    public void Unanswered_calls_may_be_retried_until_max_attempts_then_not()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.Scheduled, clock, new CallbackPolicy { MaxAttempts = 2 });

        request = request.Start(Clinician, clock).RecordNoAnswer(Clinician, clock);
        Assert.Equal((CallbackState.NoAnswer, 1), (request.State, request.Attempts));

        request = request.Start(Clinician, clock).RecordNoAnswer(Clinician, clock, "Voicemail");
        Assert.Equal((CallbackState.NoAnswer, 2), (request.State, request.Attempts));

        CallbackRequest exhausted = request;
        var start = Assert.Throws<InvalidCallbackTransitionException>(() => exhausted.Start(Clinician, clock));
        var schedule = Assert.Throws<InvalidCallbackTransitionException>(() => exhausted.Schedule(Clinician, WindowFromNow(clock), clock));
        Assert.Equal((TelehealthErrorCode.InvalidTransition, CallbackState.NoAnswer, CallbackState.InProgress), (start.ErrorCode, start.From, start.To));
        Assert.Equal(TelehealthErrorCode.InvalidTransition, schedule.ErrorCode);

        // An exhausted request can still be closed.
        Assert.Equal(CallbackState.Cancelled, exhausted.Cancel(Clinician, "Could not reach patient", clock).State);
    }

    [Fact]
    public void A_retry_can_be_rescheduled_after_no_answer()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.NoAnswer, clock);
        CallbackWindow later = WindowFromNow(clock, 5, 1);

        request = request.Schedule(Clinician, later, clock).Start(Clinician, clock);

        Assert.Equal(later, request.ScheduledWindow);
        Assert.Equal(2, request.Attempts);
        Assert.Equal(2, request.History[^1].Attempt);
    }

    [Fact]
    public void Scheduling_a_closed_window_is_a_validation_error_and_changes_nothing()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.Accepted, clock);
        var closed = new CallbackWindow(clock.GetUtcNow().AddHours(-2), clock.GetUtcNow().AddHours(-1));

        var ex = Assert.Throws<CallbackValidationException>(() => request.Schedule(Clinician, closed, clock));

        Assert.Equal(("window", "in-the-past"), (ex.Errors.Single().Field, ex.Errors.Single().Code));
        Assert.Equal(CallbackState.Accepted, request.State);
    }

    [Theory]
    [InlineData(CallbackState.Requested)]
    [InlineData(CallbackState.Scheduled)]
    [InlineData(CallbackState.NoAnswer)]
    public void Expire_is_refused_while_a_window_remains_and_allowed_once_all_have_closed(CallbackState state)
    {
        var clock = Clock();
        CallbackRequest request = InState(state, clock);

        Assert.False(request.CanExpire(clock));
        var ex = Assert.Throws<InvalidCallbackTransitionException>(() => request.Expire(clock));
        Assert.Equal((state, CallbackState.Expired), (ex.From, ex.To));

        clock.Advance(TimeSpan.FromDays(3));
        Assert.True(request.CanExpire(clock));
        CallbackRequest expired = request.Expire(clock);

        Assert.Equal(CallbackState.Expired, expired.State);
        Assert.Equal(CallbackRequest.SystemActor, expired.History[^1].Actor);
        Assert.Equal(ParticipantRole.System, expired.History[^1].Actor.Role);
    }

    [Fact]
    public void A_scheduled_window_keeps_a_request_from_expiring_after_the_preferred_windows_close()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.Accepted, clock);
        request = request.Schedule(Clinician, WindowFromNow(clock, 40, 1), clock);

        clock.Advance(TimeSpan.FromHours(30));

        Assert.False(request.CanExpire(clock));
        Assert.Throws<InvalidCallbackTransitionException>(() => request.Expire(clock));
    }

    [Fact]
    public void Raise_priority_only_ever_raises_and_records_the_change()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock, CallbackPriority.Urgent);

        CallbackRequest same = request.RaisePriority(CallbackPriority.Routine, CallbackRequest.SystemActor, "Red flag", clock);
        Assert.Same(request, same);
        Assert.Same(request, request.RaisePriority(CallbackPriority.Urgent, CallbackRequest.SystemActor, "Red flag", clock));

        CallbackRequest raised = request.RaisePriority(CallbackPriority.Stat, CallbackRequest.SystemActor, "Red flag: chest pain", clock);

        Assert.Equal(CallbackPriority.Stat, raised.Priority);
        Assert.Equal(CallbackState.Requested, raised.State);
        CallbackTransition entry = raised.History.Single();
        Assert.Equal((CallbackAction.RaisePriority, CallbackState.Requested, CallbackState.Requested), (entry.Action, entry.From, entry.To));
        Assert.Equal(CallbackPriority.Stat, entry.Priority);
        Assert.Equal("Red flag: chest pain", entry.Reason);
    }

    [Fact]
    public void Raise_priority_requires_a_reason_and_an_open_request()
    {
        var clock = Clock();
        var ex = Assert.Throws<CallbackValidationException>(() => NewRequest(clock).RaisePriority(CallbackPriority.Stat, Clinician, " ", clock));
        Assert.Equal("reason", ex.Errors.Single().Field);

        CallbackRequest completed = InState(CallbackState.Completed, clock);
        var refused = Assert.Throws<InvalidCallbackTransitionException>(() => completed.RaisePriority(CallbackPriority.Routine, Clinician, "Flag", clock));
        Assert.Equal(TelehealthErrorCode.InvalidTransition, refused.ErrorCode);
    }

    [Fact]
    public void Decline_and_cancel_require_a_reason()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock);
        Assert.Throws<CallbackValidationException>(() => request.Decline(Clinician, "", clock));
        Assert.Throws<CallbackValidationException>(() => request.Cancel(Patient, "  ", clock));
        Assert.Empty(request.History);
    }

    [Theory]
    [InlineData(CallbackAction.Accept, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Accept, ParticipantRole.System)]
    [InlineData(CallbackAction.Schedule, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Schedule, ParticipantRole.System)]
    [InlineData(CallbackAction.Start, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Start, ParticipantRole.System)]
    [InlineData(CallbackAction.RecordNoAnswer, ParticipantRole.Patient)]
    [InlineData(CallbackAction.RecordNoAnswer, ParticipantRole.System)]
    [InlineData(CallbackAction.Complete, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Complete, ParticipantRole.System)]
    [InlineData(CallbackAction.Decline, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Decline, ParticipantRole.System)]
    [InlineData(CallbackAction.Cancel, ParticipantRole.System)]
    [InlineData(CallbackAction.Expire, ParticipantRole.Patient)]
    [InlineData(CallbackAction.Expire, ParticipantRole.Clinician)]
    [InlineData(CallbackAction.Expire, ParticipantRole.Clinic)]
    [InlineData(CallbackAction.RaisePriority, ParticipantRole.Patient)]
    public void A_role_that_may_not_perform_a_transition_is_refused_naming_role_and_transition(CallbackAction action, ParticipantRole role)
    {
        var clock = Clock();
        CallbackState from = action switch
        {
            CallbackAction.Accept or CallbackAction.Decline => CallbackState.Requested,
            CallbackAction.Schedule or CallbackAction.Cancel => CallbackState.Accepted,
            CallbackAction.Start => CallbackState.Scheduled,
            CallbackAction.RecordNoAnswer or CallbackAction.Complete => CallbackState.InProgress,
            _ => CallbackState.Requested,
        };
        CallbackRequest request = InState(from, clock);
        clock.Advance(TimeSpan.FromDays(30));
        var actor = new Participant(role switch
        {
            ParticipantRole.Patient => Patient.Id,
            ParticipantRole.Clinic => Clinic.Id,
            _ => new UserId("actor-1"),
        }, role);
        CallbackState to = action == CallbackAction.RaisePriority ? from : TargetOf(action);
        var transition = new CallbackTransition(
            action, from, to, actor, clock.GetUtcNow(), "Because",
            action == CallbackAction.Schedule ? WindowFromNow(clock) : null,
            action == CallbackAction.Start ? 1 : request.Attempts,
            action == CallbackAction.RaisePriority ? CallbackPriority.Stat : null);

        var ex = Assert.Throws<InvalidCallbackTransitionException>(() => request.Apply(transition));

        Assert.Equal(TelehealthErrorCode.NotPermitted, ex.ErrorCode);
        Assert.Equal(role, ex.ActorRole);
        Assert.Contains(role.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(action.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_requests_own_patient_and_clinic_may_act_on_it()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock);

        var otherPatient = Assert.Throws<InvalidCallbackTransitionException>(() => request.Cancel(Participant.Patient(new UserId("patient-2")), "Mine now", clock));
        var otherClinic = Assert.Throws<InvalidCallbackTransitionException>(() => request.Accept(Participant.Clinic(new UserId("clinic-2")), clock));

        Assert.Equal(TelehealthErrorCode.NotPermitted, otherPatient.ErrorCode);
        Assert.Equal(TelehealthErrorCode.NotPermitted, otherClinic.ErrorCode);
        Assert.Equal(CallbackState.Accepted, request.Accept(Clinic, clock).State);
        Assert.Null(request.Accept(Clinic, clock).AssignedClinician);
    }

    [Fact]
    public void Replaying_the_history_on_another_device_reproduces_the_request()
    {
        var clock = Clock();
        CallbackRequest original = InState(CallbackState.NoAnswer, clock).RaisePriority(CallbackPriority.Asap, Clinician, "Worse", clock);
        CallbackRequest replica = InitialCopyOf(original);

        foreach (CallbackTransition transition in original.History)
        {
            replica = replica.Apply(transition);
        }

        Assert.Equal(original.State, replica.State);
        Assert.Equal(original.Priority, replica.Priority);
        Assert.Equal(original.Attempts, replica.Attempts);
        Assert.Equal(original.ScheduledWindow, replica.ScheduledWindow);
        Assert.Equal(original.AssignedClinician, replica.AssignedClinician);
        Assert.Equal(original.History, replica.History);
    }

    [Fact]
    public void Apply_rejects_a_transition_that_does_not_start_from_the_current_state()
    {
        var clock = Clock();
        CallbackRequest accepted = InState(CallbackState.Accepted, clock);
        CallbackRequest scheduled = accepted.Schedule(Clinician, WindowFromNow(clock), clock);
        CallbackTransition scheduleAgain = scheduled.History[^1];

        // The same Schedule transition applied twice: the second one starts from Accepted, but the request is Scheduled.
        var ex = Assert.Throws<InvalidCallbackTransitionException>(() => scheduled.Apply(scheduleAgain));

        Assert.Equal((CallbackState.Scheduled, CallbackState.Scheduled), (ex.From, ex.To));
        Assert.Contains("Accepted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_rejects_forged_attempt_counts_and_times_before_creation()
    {
        var clock = Clock();
        CallbackRequest scheduled = InState(CallbackState.Scheduled, clock);

        var forged = new CallbackTransition(CallbackAction.Start, CallbackState.Scheduled, CallbackState.InProgress, Clinician, clock.GetUtcNow(), attempt: 0);
        Assert.Throws<InvalidCallbackTransitionException>(() => scheduled.Apply(forged));

        var early = new CallbackTransition(CallbackAction.Start, CallbackState.Scheduled, CallbackState.InProgress, Clinician, Start.AddDays(-1), attempt: 1);
        var ex = Assert.Throws<CallbackValidationException>(() => scheduled.Apply(early));
        Assert.Equal("at", ex.Errors.Single().Field);
    }

    [Fact]
    public void A_transition_must_be_internally_consistent()
    {
        DateTimeOffset at = Start;
        Assert.Throws<ArgumentException>(() => new CallbackTransition(CallbackAction.Accept, CallbackState.Requested, CallbackState.Completed, Clinician, at));
        Assert.Throws<ArgumentException>(() => new CallbackTransition(CallbackAction.Schedule, CallbackState.Accepted, CallbackState.Scheduled, Clinician, at));
        Assert.Throws<ArgumentException>(() => new CallbackTransition(CallbackAction.Accept, CallbackState.Requested, CallbackState.Accepted, Clinician, at, window: new CallbackWindow(at, at.AddHours(1))));
        Assert.Throws<ArgumentException>(() => new CallbackTransition(CallbackAction.RaisePriority, CallbackState.Requested, CallbackState.Requested, Clinician, at));
        Assert.Throws<ArgumentException>(() => new CallbackTransition(CallbackAction.Accept, CallbackState.Requested, CallbackState.Accepted, default, at));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CallbackTransition(CallbackAction.Accept, CallbackState.Requested, CallbackState.Accepted, Clinician, at, attempt: -1));
    }

    private static CallbackState TargetOf(CallbackAction action) => action switch
    {
        CallbackAction.Accept => CallbackState.Accepted,
        CallbackAction.Schedule => CallbackState.Scheduled,
        CallbackAction.Start => CallbackState.InProgress,
        CallbackAction.RecordNoAnswer => CallbackState.NoAnswer,
        CallbackAction.Complete => CallbackState.Completed,
        CallbackAction.Decline => CallbackState.Declined,
        CallbackAction.Cancel => CallbackState.Cancelled,
        CallbackAction.Expire => CallbackState.Expired,
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    private static CallbackRequest InitialCopyOf(CallbackRequest request) => CallbackRequest.Restore(
        request.Id, request.Patient, request.Clinic, request.Reason, request.PhoneNumber.Value, request.Medium, CallbackPriority.Routine,
        request.PreferredWindows, request.LinkedIntakeId, request.CreatedAt, request.MaxAttempts, []);
}
