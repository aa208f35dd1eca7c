using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Tests.Callbacks;

// Builds callback requests in any state for the tests. Canary strings stand in for health data so that tests can
// prove they never leak into exception messages or ToString().
internal static class CallbackFixtures
{
    public const string ReasonCanary = "CANARY-REASON-chest-pain-7731";
    public const string PhoneCanary = "+15550100199";
    public const string PhoneCanaryDigits = "5550100199";

    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public static readonly Participant Patient = Participant.Patient(new UserId("patient-1"));
    public static readonly Participant Clinic = Participant.Clinic(new UserId("clinic-1"));
    public static readonly Participant Clinician = Participant.Clinician(new UserId("clinician-1"));

    public static FakeTimeProvider Clock() => new(Start);

    public static CallbackWindow WindowFromNow(TimeProvider clock, double startHours = 1, double lengthHours = 2)
    {
        DateTimeOffset now = clock.GetUtcNow();
        return new CallbackWindow(now.AddHours(startHours), now.AddHours(startHours + lengthHours));
    }

    public static CallbackRequest NewRequest(
        TimeProvider clock,
        CallbackPriority priority = CallbackPriority.Routine,
        CallbackPolicy? policy = null,
        IntakeSubmissionId? intake = null) =>
        CallbackRequest.Create(
            Patient,
            Clinic,
            ReasonCanary,
            PhoneCanary,
            CallbackMedium.Phone,
            priority,
            [WindowFromNow(clock, 1, 2), WindowFromNow(clock, 24, 3)],
            intake ?? new IntakeSubmissionId("intake-1"),
            clock,
            policy);

    // Drives a new request into `state` along the shortest legal path.
    public static CallbackRequest InState(CallbackState state, FakeTimeProvider clock, CallbackPolicy? policy = null)
    {
        CallbackRequest request = NewRequest(clock, policy: policy);
        switch (state)
        {
            case CallbackState.Requested:
                return request;
            case CallbackState.Declined:
                return request.Decline(Clinician, "Not our service", clock);
            case CallbackState.Expired:
                clock.Advance(TimeSpan.FromDays(30));
                return request.Expire(clock);
        }

        request = request.Accept(Clinician, clock);
        if (state == CallbackState.Accepted)
        {
            return request;
        }

        if (state == CallbackState.Cancelled)
        {
            return request.Cancel(Patient, "Feeling better", clock);
        }

        request = request.Schedule(Clinician, WindowFromNow(clock), clock);
        if (state == CallbackState.Scheduled)
        {
            return request;
        }

        request = request.Start(Clinician, clock);
        return state switch
        {
            CallbackState.InProgress => request,
            CallbackState.Completed => request.Complete(Clinician, clock),
            CallbackState.NoAnswer => request.RecordNoAnswer(Clinician, clock),
            _ => throw new ArgumentOutOfRangeException(nameof(state)),
        };
    }
}
