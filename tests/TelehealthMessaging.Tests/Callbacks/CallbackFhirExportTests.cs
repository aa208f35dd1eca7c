using System.Text.Json;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Tests.Infrastructure;
using static TelehealthMessaging.Tests.Callbacks.CallbackFixtures;

namespace TelehealthMessaging.Tests.Callbacks;

public class CallbackFhirExportTests(FhirValidation fhir) : IClassFixture<FhirValidation>
{
    public static TheoryData<CallbackState> AllStates() => new(Enum.GetValues<CallbackState>());

    [Theory]
    [MemberData(nameof(AllStates))]
    public void CommunicationRequest_is_valid_fhir_in_every_state(CallbackState state)
    {
        CallbackRequest request = InState(state, Clock());
        fhir.AssertValid(FhirExport.ToCommunicationRequest(request));
    }

    [Theory]
    [MemberData(nameof(AllStates))]
    public void Task_is_valid_fhir_in_every_state(CallbackState state)
    {
        CallbackRequest request = InState(state, Clock());
        fhir.AssertValid(FhirExport.ToTask(request));
    }

    [Theory]
    [InlineData(CallbackPriority.Routine, CallbackMedium.Phone, "routine")]
    [InlineData(CallbackPriority.Urgent, CallbackMedium.Video, "urgent")]
    [InlineData(CallbackPriority.Asap, CallbackMedium.Phone, "asap")]
    [InlineData(CallbackPriority.Stat, CallbackMedium.Video, "stat")]
    public void Every_priority_and_medium_exports_valid_fhir(CallbackPriority priority, CallbackMedium medium, string code)
    {
        var clock = Clock();
        CallbackRequest request = CallbackRequest.Create(
            Patient, Clinic, ReasonCanary, PhoneCanary, medium, priority, [WindowFromNow(clock)], null, clock).Accept(Clinic, clock);

        string communicationRequest = FhirExport.ToCommunicationRequest(request);
        string task = FhirExport.ToTask(request);

        fhir.AssertValid(communicationRequest);
        fhir.AssertValid(task);
        using var doc = JsonDocument.Parse(task);
        Assert.Equal(code, doc.RootElement.GetProperty("priority").GetString());
    }

    [Theory]
    [InlineData(CallbackState.Requested, "active")]
    [InlineData(CallbackState.Accepted, "active")]
    [InlineData(CallbackState.Scheduled, "active")]
    [InlineData(CallbackState.InProgress, "active")]
    [InlineData(CallbackState.NoAnswer, "active")]
    [InlineData(CallbackState.Completed, "completed")]
    [InlineData(CallbackState.Declined, "revoked")]
    [InlineData(CallbackState.Cancelled, "revoked")]
    [InlineData(CallbackState.Expired, "revoked")]
    public void CommunicationRequest_status_follows_the_state(CallbackState state, string status)
    {
        using var doc = JsonDocument.Parse(FhirExport.ToCommunicationRequest(InState(state, Clock())));
        Assert.Equal(status, doc.RootElement.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(CallbackState.Requested, "requested", "requested")]
    [InlineData(CallbackState.Accepted, "accepted", "accepted")]
    [InlineData(CallbackState.Scheduled, "accepted", "scheduled")]
    [InlineData(CallbackState.InProgress, "in-progress", "in-progress")]
    [InlineData(CallbackState.NoAnswer, "in-progress", "no-answer")]
    [InlineData(CallbackState.Completed, "completed", "completed")]
    [InlineData(CallbackState.Declined, "rejected", "declined")]
    [InlineData(CallbackState.Cancelled, "cancelled", "cancelled")]
    [InlineData(CallbackState.Expired, "failed", "expired")]
    public void Task_status_and_business_status_follow_the_state(CallbackState state, string status, string businessStatus)
    {
        using var doc = JsonDocument.Parse(FhirExport.ToTask(InState(state, Clock())));
        JsonElement root = doc.RootElement;
        Assert.Equal(status, root.GetProperty("status").GetString());
        Assert.Equal(businessStatus, root.GetProperty("businessStatus").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("order", root.GetProperty("intent").GetString());
    }

    [Fact]
    public void Task_fails_once_no_answer_has_used_every_attempt()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.NoAnswer, clock, new CallbackPolicy { MaxAttempts = 1 });

        string json = FhirExport.ToTask(request);

        fhir.AssertValid(json);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("failed", doc.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void CommunicationRequest_carries_the_request_details()
    {
        var clock = Clock();
        CallbackRequest request = NewRequest(clock, CallbackPriority.Urgent).Accept(Clinician, clock);
        CallbackWindow window = WindowFromNow(clock, 3, 1);
        request = request.Schedule(Clinician, window, clock);

        using var doc = JsonDocument.Parse(FhirExport.ToCommunicationRequest(request));
        JsonElement root = doc.RootElement;

        Assert.Equal(request.Id.Value, root.GetProperty("id").GetString());
        Assert.Equal("urgent", root.GetProperty("priority").GetString());
        JsonElement medium = root.GetProperty("medium")[0].GetProperty("coding")[0];
        Assert.Equal("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", medium.GetProperty("system").GetString());
        Assert.Equal("PHONE", medium.GetProperty("code").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("subject").GetProperty("reference").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("requester").GetProperty("reference").GetString());
        Assert.Equal("Organization/clinic-1", root.GetProperty("recipient")[0].GetProperty("reference").GetString());
        Assert.Equal("QuestionnaireResponse/intake-1", root.GetProperty("about")[0].GetProperty("reference").GetString());
        Assert.Equal(ReasonCanary, root.GetProperty("payload")[0].GetProperty("contentString").GetString());
        Assert.Equal("2026-03-02T12:00:00Z", root.GetProperty("occurrencePeriod").GetProperty("start").GetString());
        Assert.Equal("2026-03-02T13:00:00Z", root.GetProperty("occurrencePeriod").GetProperty("end").GetString());
        Assert.Equal("2026-03-02T09:00:00Z", root.GetProperty("authoredOn").GetString());
    }

    [Fact]
    public void CommunicationRequest_uses_the_first_preferred_window_until_scheduled_and_videoconf_for_video()
    {
        var clock = Clock();
        var offset = TimeSpan.FromHours(-5);
        var window = new CallbackWindow(new DateTimeOffset(2026, 3, 2, 10, 0, 0, offset), new DateTimeOffset(2026, 3, 2, 12, 0, 0, offset));
        CallbackRequest request = CallbackRequest.Create(Patient, Clinic, ReasonCanary, PhoneCanary, CallbackMedium.Video, CallbackPriority.Routine, [window], null, clock);

        string json = FhirExport.ToCommunicationRequest(request);

        fhir.AssertValid(json);
        using var doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal("VIDEOCONF", root.GetProperty("medium")[0].GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("2026-03-02T10:00:00-05:00", root.GetProperty("occurrencePeriod").GetProperty("start").GetString());
        Assert.False(root.TryGetProperty("about", out _));
    }

    [Fact]
    public void Task_points_at_the_request_and_names_owner_and_execution_period()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.InProgress, clock);
        DateTimeOffset started = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromMinutes(12));
        request = request.Complete(Clinician, clock);

        using var doc = JsonDocument.Parse(FhirExport.ToTask(request));
        JsonElement root = doc.RootElement;

        string focus = "CommunicationRequest/" + request.Id.Value;
        Assert.Equal(focus, root.GetProperty("focus").GetProperty("reference").GetString());
        Assert.Equal(focus, root.GetProperty("basedOn")[0].GetProperty("reference").GetString());
        Assert.Equal("Patient/patient-1", root.GetProperty("for").GetProperty("reference").GetString());
        Assert.Equal("Practitioner/clinician-1", root.GetProperty("owner").GetProperty("reference").GetString());
        Assert.Equal("QuestionnaireResponse/intake-1", root.GetProperty("reasonReference").GetProperty("reference").GetString());
        Assert.Equal(FhirFormatted(started), root.GetProperty("executionPeriod").GetProperty("start").GetString());
        Assert.Equal(FhirFormatted(clock.GetUtcNow()), root.GetProperty("executionPeriod").GetProperty("end").GetString());
        Assert.Equal(FhirFormatted(clock.GetUtcNow()), root.GetProperty("lastModified").GetString());
    }

    [Fact]
    public void Task_is_owned_by_the_clinic_until_a_clinician_takes_it()
    {
        using var doc = JsonDocument.Parse(FhirExport.ToTask(NewRequest(Clock())));
        Assert.Equal("Organization/clinic-1", doc.RootElement.GetProperty("owner").GetProperty("reference").GetString());
        Assert.False(doc.RootElement.TryGetProperty("executionPeriod", out _));
    }

    private static string FhirFormatted(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
