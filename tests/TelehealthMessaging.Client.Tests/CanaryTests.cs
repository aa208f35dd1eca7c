using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Client.Tests.Infrastructure;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Client.Tests;

/// <summary>
/// Canary health data sent through every flow must appear in no log record (client or relay), activity, metric,
/// exception message, audit record or relay file — only in the places the app reads it from.
/// </summary>
public sealed class CanaryTests : IAsyncLifetime, IDisposable
{
    private const string Complaint = "ZQCANARYcomplaint chest pressure";
    private const string GivenName = "Zqcanarygiven";
    private const string MessageText = "ZQCANARYmessage take aspirin";
    private const string Reason = "ZQCANARYreason call about pressure";
    private const string Note = "ZQCANARYnote advised emergency";
    private static readonly string[] Canaries = ["ZQCANARY", "Zqcanary", "zqcanary", "1234-5678"];

    private readonly EmbeddedRelayTarget _target = EmbeddedRelayTarget.Sqlite("ws");
    private readonly CapturedLogs _relayLogs = new();
    private readonly CapturedLogs _clientLogs = new();
    private readonly List<string> _telemetry = [];
    private ActivityListener? _activities;
    private MeterListener? _meters;

    public async Task InitializeAsync()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_telemetry)
                {
                    _telemetry.Add(activity.DisplayName + " " + string.Join(";", activity.TagObjects.Select(t => t.Key + "=" + t.Value)) + " " + string.Join(";", activity.Events.Select(e => e.Name)));
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.Start();
        _target.Logs = _relayLogs;
        await Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _target.DisposeAsync();

    public void Dispose()
    {
        _activities?.Dispose();
        _meters?.Dispose();
        _relayLogs.Dispose();
        _clientLogs.Dispose();
    }

    [Fact]
    public async Task Canary_health_data_appears_in_no_log_activity_metric_exception_audit_record_or_relay_file()
    {
        Uri relay = await _target.StartAsync();
        var clinic = new ClinicId("canary-clinic");
        await using TestParty clinician = TestParty.Create(relay, new UserId("dr-canary"), ParticipantRole.Clinician, clinic, logs: _clientLogs);
        await using TestParty patient = TestParty.Create(relay, new UserId("patient-canary"), ParticipantRole.Patient, logs: _clientLogs);
        await Task.WhenAll(clinician.Client.StartAsync(), patient.Client.StartAsync());
        await patient.Client.Compliance.GrantConsentAsync(ConsentPurpose.TelehealthTreatment, "2026-11");
        await patient.Client.Compliance.GrantConsentAsync(ConsentPurpose.HealthDataProcessing, "2026-11");
        var errors = new List<Exception>();

        // Intake (with a red flag), claim, read as answers and as FHIR.
        IntakeSubmissionResult submitted = await patient.Client.Intake.SubmitAsync(clinic, TestParty.ChestPainIntake(Complaint, GivenName));
        await clinician.Events.WaitAsync<IntakeReceivedEvent>(e => e.Item.SubmissionId == submitted.Submission.Id);
        await clinician.Client.Intake.ClaimAsync(submitted.Submission.Id);
        IntakeSubmission read = await clinician.Client.Intake.GetSubmissionAsync(submitted.Submission.Id);
        Assert.Contains(Complaint, await clinician.Client.Intake.GetQuestionnaireResponseAsync(submitted.Submission.Id), StringComparison.Ordinal);

        // Messages both ways.
        ConversationMessage reply = await clinician.Client.Messages.SendTextAsync(submitted.ConversationId, MessageText);
        await patient.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == reply.Id);
        await patient.Client.Messages.MarkReadAsync(submitted.ConversationId, [reply.Id]);
        ConversationMessage answer = await patient.Client.Messages.SendTextAsync(submitted.ConversationId, MessageText + " back");
        await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == answer.Id);

        // Callback lifecycle.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        CallbackRequest request = await patient.Client.Callbacks.RequestAsync(clinic, Reason, "+82 10-1234-5678", [new CallbackWindow(now.AddMinutes(5), now.AddHours(1))]);
        await clinician.Events.WaitAsync<CallbackChangedEvent>(e => e.Request.Id == request.Id);
        await clinician.Client.Callbacks.AcceptAsync(request.Id);
        await clinician.Client.Callbacks.ScheduleAsync(request.Id, new CallbackWindow(now.AddMinutes(10), now.AddMinutes(20)));
        await clinician.Client.Callbacks.StartAsync(request.Id);
        await clinician.Client.Callbacks.CompleteAsync(request.Id, Note);
        await patient.Events.WaitAsync<CallbackChangedEvent>(e => e.Request.Id == request.Id && e.Request.State == CallbackState.Completed);

        // Errors on the way: each message must be free of the canaries.
        errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => patient.Client.Callbacks.CompleteAsync(request.Id, Note)));
        IntakeAnswers incomplete = IntakeAnswers.Create(TelehealthIntake.Form);
        errors.Add(await Assert.ThrowsAsync<IntakeValidationException>(() => patient.Client.Intake.SubmitAsync(clinic, incomplete)));
        errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => patient.Client.Messages.SendTextAsync(new ConversationId("unknown-conversation"), MessageText)));
        await patient.Client.Compliance.WithdrawConsentAsync(ConsentPurpose.HealthDataProcessing);
        errors.Add(await Assert.ThrowsAsync<ConsentRequiredException>(() => patient.Client.Intake.SubmitAsync(clinic, TestParty.ChestPainIntake(Complaint))));
        await Task.WhenAll(patient.Client.FlushAsync(), clinician.Client.FlushAsync());

        string auditExport = await clinician.Client.Compliance.ExportAuditLogAsync() + await patient.Client.Compliance.ExportAuditLogAsync();
        Assert.True((await patient.Client.Compliance.VerifyAuditLogAsync()).IsValid);
        Assert.Contains("\"resourceType\":\"Bundle\"", auditExport, StringComparison.Ordinal);
        Assert.Contains(read.Id.Value, auditExport, StringComparison.Ordinal);

        AssertClean("client log", _clientLogs.Lines);
        AssertClean("relay log", _relayLogs.Lines);
        lock (_telemetry)
        {
            Assert.NotEmpty(_telemetry);
            AssertClean("telemetry", _telemetry);
        }

        AssertClean("exception", errors.Select(e => e.ToString()));
        AssertClean("audit export", [auditExport, .. patient.Events.Events.Select(e => e.ToString()), .. clinician.Events.Events.Select(e => e.ToString())]);
        await _target.KillAsync();
        foreach (string file in Directory.EnumerateFiles(_target.DataDirectory, "*", SearchOption.AllDirectories))
        {
            byte[] bytes = await File.ReadAllBytesAsync(file);
            foreach (string canary in Canaries)
            {
                Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(canary)) || Contains(bytes, Encoding.Unicode.GetBytes(canary)), $"relay file {Path.GetFileName(file)} holds a canary");
            }
        }
    }

    private static void AssertClean(string where, IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            foreach (string canary in Canaries)
            {
                Assert.False(line.Contains(canary, StringComparison.Ordinal), $"{where} holds a canary: {line}");
            }
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var line = new StringBuilder(instrument.Meter.Name + "/" + instrument.Name + "=" + value);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            line.Append(';').Append(tag.Key).Append('=').Append(tag.Value);
        }

        lock (_telemetry)
        {
            _telemetry.Add(line.ToString());
        }
    }
}
