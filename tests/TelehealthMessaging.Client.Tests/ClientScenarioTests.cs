using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Client.Tests.Infrastructure;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging.Client.Tests;

/// <summary>
/// The whole story through the public API: a patient with two devices, a clinic with two clinicians racing to claim,
/// intake, messages both ways with receipts, and the callback lifecycle. Runs against every relay target.
/// </summary>
public abstract class ClientScenarioTests : ClientTestBase
{
    private static readonly ClinicId Clinic = new("seoul-clinic");
    [SkippableFact]
    public async Task Intake_claim_messages_receipts_and_callback_reach_every_device_of_every_party()
    {
        TestParty drKim = Add(TestParty.Create(Relay, new UserId("dr-kim"), ParticipantRole.Clinician, Clinic));
        TestParty drLee = Add(TestParty.Create(Relay, new UserId("dr-lee"), ParticipantRole.Clinician, Clinic));
        var patientId = new UserId("patient-42");
        TestParty phone = Add(TestParty.Create(Relay, patientId, ParticipantRole.Patient));
        TestParty tablet = Add(TestParty.Create(Relay, patientId, ParticipantRole.Patient));
        await Task.WhenAll(drKim.Client.StartAsync(), drLee.Client.StartAsync(), phone.Client.StartAsync(), tablet.Client.StartAsync());

        // Intake with a red flag: the patient is told at once, both clinicians see it in the inbox.
        await phone.GrantIntakeConsentsAsync();
        IntakeSubmissionResult submitted = await phone.Client.Intake.SubmitAsync(Clinic, TestParty.ChestPainIntake());
        Assert.NotNull(submitted.EmergencyAdvice);
        IntakeReceivedEvent atKim = await drKim.Events.WaitAsync<IntakeReceivedEvent>(e => e.Item.SubmissionId == submitted.Submission.Id);
        await drLee.Events.WaitAsync<IntakeReceivedEvent>(e => e.Item.SubmissionId == submitted.Submission.Id);
        Assert.Equal(patientId, atKim.Item.Patient);
        Assert.NotEmpty(atKim.Item.RedFlagRuleIds);
        await tablet.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == submitted.MessageId && e.Message.IsOutgoing);

        // Two clinicians race to claim: one wins, both are told who.
        ClaimResult[] claims = await Task.WhenAll(drKim.Client.Intake.ClaimAsync(submitted.Submission.Id), drLee.Client.Intake.ClaimAsync(submitted.Submission.Id));
        Assert.Single(claims, c => c.IsOwn);
        Assert.Equal(claims[0].ClaimedBy, claims[1].ClaimedBy);
        TestParty winner = claims[0].IsOwn ? drKim : drLee;
        TestParty loser = claims[0].IsOwn ? drLee : drKim;
        IReadOnlyList<IntakeInboxItem> loserInbox = await loser.Client.Intake.GetInboxAsync();
        Assert.Equal(winner.Client.User, Assert.Single(loserInbox).Claim!.ClaimedBy);
        await tablet.Events.WaitAsync<WorkItemClaimedEvent>(e => e.ItemId == submitted.Submission.Id.Value);

        // The winner reads it as typed answers and as FHIR.
        var submission = await winner.Client.Intake.GetSubmissionAsync(submitted.Submission.Id);
        Assert.Equal(submitted.Submission.Id, submission.Id);
        Assert.Contains("\"resourceType\":\"QuestionnaireResponse\"", await winner.Client.Intake.GetQuestionnaireResponseAsync(submitted.Submission.Id), StringComparison.Ordinal);

        // Messages both ways with delivered and read receipts; the patient's tablet sees everything too.
        ConversationMessage question = await winner.Client.Messages.SendTextAsync(submitted.ConversationId, "How long has the tightness lasted?");
        MessageReceivedEvent onPhone = await phone.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == question.Id);
        await tablet.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == question.Id);
        Assert.Equal("How long has the tightness lasted?", Assert.IsType<TextContent>(onPhone.Message.Message.Content).Text);
        await winner.Events.WaitAsync<MessageStatusChangedEvent>(e => e.MessageId == question.Id && e.Status == MessageStatus.Delivered);
        await phone.Client.Messages.MarkReadAsync(submitted.ConversationId, [question.Id]);
        await winner.Events.WaitAsync<MessageStatusChangedEvent>(e => e.MessageId == question.Id && e.Status == MessageStatus.Read);

        ConversationMessage answer = await phone.Client.Messages.SendTextAsync(submitted.ConversationId, "About five hours.");
        await winner.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == answer.Id);
        await loser.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == answer.Id);
        await tablet.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == answer.Id && e.Message.IsOutgoing);
        await phone.Events.WaitAsync<MessageStatusChangedEvent>(e => e.MessageId == answer.Id && e.Status == MessageStatus.Delivered);

        // Callback: requested by the patient, raced for by both clinicians, run to completion by the winner.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        CallbackRequest request = await phone.Client.Callbacks.RequestAsync(Clinic, "Please call about the chest tightness", "+82 10-1234-5678", [new CallbackWindow(now.AddMinutes(10), now.AddHours(2))], linkedIntake: submitted.Submission.Id);
        await drKim.Events.WaitAsync<CallbackChangedEvent>(e => e.Request.Id == request.Id);
        await drLee.Events.WaitAsync<CallbackChangedEvent>(e => e.Request.Id == request.Id);
        ClaimResult[] accepts = await Task.WhenAll(drKim.Client.Callbacks.AcceptAsync(request.Id), drLee.Client.Callbacks.AcceptAsync(request.Id));
        Assert.Single(accepts, c => c.IsOwn);
        TestParty caller = accepts[0].IsOwn ? drKim : drLee;
        TestParty other = accepts[0].IsOwn ? drLee : drKim;
        await caller.Client.Callbacks.ScheduleAsync(request.Id, new CallbackWindow(now.AddMinutes(15), now.AddMinutes(30)));
        await caller.Client.Callbacks.StartAsync(request.Id);
        TelehealthException refused = await Assert.ThrowsAsync<TelehealthException>(() => other.Client.Callbacks.CompleteAsync(request.Id));
        Assert.Equal(TelehealthErrorCode.NotPermitted, refused.ErrorCode);
        CallbackRequest completed = await caller.Client.Callbacks.CompleteAsync(request.Id, "Advised to attend the emergency department");
        Assert.Equal(CallbackState.Completed, completed.State);

        foreach (TestParty device in new[] { phone, tablet, other })
        {
            await device.Events.WaitAsync<CallbackChangedEvent>(e => e.Request.Id == request.Id && e.Request.State == CallbackState.Completed);
            Assert.Equal(CallbackState.Completed, (await device.Client.Callbacks.GetAsync(request.Id))!.State);
        }

        // Both patient devices hold the same history.
        HistoryPage phoneHistory = await phone.Client.Conversations.GetHistoryAsync(submitted.ConversationId);
        HistoryPage tabletHistory = await tablet.Client.Conversations.GetHistoryAsync(submitted.ConversationId);
        Assert.Equal(phoneHistory.Messages.Select(m => m.Id), tabletHistory.Messages.Select(m => m.Id));
        Assert.Contains(phoneHistory.Messages, m => m.Id == question.Id);
    }
}

public sealed class InMemoryClientScenarioTests : ClientScenarioTests
{
    protected override RelayTarget CreateTarget() => new InMemoryRelayTarget();
}

public sealed class SqliteClientScenarioTests : ClientScenarioTests
{
    protected override RelayTarget CreateTarget() => EmbeddedRelayTarget.Sqlite("ws");
}

public sealed class PostgresClientScenarioTests : ClientScenarioTests
{
    protected override RelayTarget CreateTarget() => EmbeddedRelayTarget.Postgres("http");
}
