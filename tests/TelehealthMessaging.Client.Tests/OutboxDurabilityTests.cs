using System.Globalization;
using TelehealthMessaging.Client.Tests.Infrastructure;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Client.Tests;

/// <summary>
/// The outbox: items stored before the call returns survive the app being killed (the client disposed without
/// flushing, its store reopened by a new client) while the relay is down, and then arrive exactly once, in order.
/// </summary>
public abstract class OutboxDurabilityTests : ClientTestBase
{
    private static readonly ClinicId Clinic = new("outbox-clinic");
    [SkippableFact]
    public async Task Items_enqueued_while_theRelay_is_down_survive_an_app_kill_and_arrive_once_in_order()
    {
        TestParty clinician = Add(TestParty.Create(Relay, new UserId("dr-outbox"), ParticipantRole.Clinician, Clinic));
        var store = new InMemoryDeviceStore();
        var patientId = new UserId("patient-outbox");
        TestParty patient = TestParty.Create(Relay, patientId, ParticipantRole.Patient, store: store);
        await Task.WhenAll(clinician.Client.StartAsync(), patient.Client.StartAsync());
        Conversation conversation = await patient.Client.Conversations.OpenWithClinicAsync(Clinic);
        ConversationMessage first = await patient.Client.Messages.SendTextAsync(conversation.Id, "m00");
        await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == first.Id);

        // The relay goes away; the app keeps sending, then is killed without flushing.
        DeviceId device = patient.Client.Device;
        await Target.MakeUnreachableAsync(device);
        var sent = new List<MessageId> { first.Id };
        for (int i = 1; i <= 12; i++)
        {
            ConversationMessage message = await patient.Client.Messages.SendTextAsync(conversation.Id, string.Create(CultureInfo.InvariantCulture, $"m{i:D2}"));
            Assert.Equal(MessageStatus.Pending, message.Status);
            sent.Add(message.Id);
        }

        await patient.Client.DisposeAsync();

        // Relay back, app restarted on the same store: everything is delivered.
        Relay = await RestoreAsync(device);
        TestParty restarted = Add(TestParty.Create(Relay, patientId, ParticipantRole.Patient, store: store));
        await restarted.Client.FlushAsync();
        foreach (MessageId id in sent)
        {
            await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == id);
        }

        List<string> received = clinician.Events.Events.OfType<MessageReceivedEvent>()
            .Where(e => e.Message.Message.Content is TextContent)
            .Select(e => ((TextContent)e.Message.Message.Content).Text)
            .ToList();
        Assert.Equal(Enumerable.Range(0, 13).Select(i => string.Create(CultureInfo.InvariantCulture, $"m{i:D2}")), received);
        HistoryPage history = await clinician.Client.Conversations.GetHistoryAsync(conversation.Id, pageSize: 100);
        Assert.Equal(13, history.Messages.Count(m => m.Message.Content is TextContent));
        Assert.Equal(sent, (await restarted.Client.Conversations.GetHistoryAsync(conversation.Id, pageSize: 100)).Messages.Select(m => m.Id));
    }

    [SkippableFact]
    public async Task An_item_in_the_outbox_of_a_disposed_client_is_sent_by_the_next_client_on_the_store()
    {
        TestParty clinician = Add(TestParty.Create(Relay, new UserId("dr-restart"), ParticipantRole.Clinician, Clinic));
        var store = new InMemoryDeviceStore();
        var patientId = new UserId("patient-restart");
        await clinician.Client.StartAsync();

        // Killed right after the call returned: the item may or may not have left; either way it arrives once.
        TestParty patient = TestParty.Create(Relay, patientId, ParticipantRole.Patient, store: store);
        Conversation conversation = await patient.Client.Conversations.OpenWithClinicAsync(Clinic);
        ConversationMessage message = await patient.Client.Messages.SendTextAsync(conversation.Id, "sent just before the crash");
        await patient.Client.DisposeAsync();

        TestParty restarted = Add(TestParty.Create(Relay, patientId, ParticipantRole.Patient, store: store));
        await restarted.Client.FlushAsync();
        await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == message.Id);
        Assert.Contains((await restarted.Client.Messages.GetAsync(conversation.Id, message.Id))!.Status, new[] { MessageStatus.Sent, MessageStatus.Delivered });
        Assert.Single(clinician.Events.Events.OfType<MessageReceivedEvent>(), e => e.Message.Id == message.Id);
    }

    protected virtual async Task<Uri> RestoreAsync(DeviceId device)
    {
        await Target.MakeReachableAsync(device);
        return Relay;
    }
}

public sealed class InMemoryOutboxDurabilityTests : OutboxDurabilityTests
{
    protected override RelayTarget CreateTarget() => new InMemoryRelayTarget();

    [Fact]
    public async Task Duplicated_envelopes_reach_the_app_once()
    {
        var target = new InMemoryRelayTarget();
        await using (target)
        {
            Uri relay = await target.StartAsync();
            var clinic = new ClinicId("dup-clinic");
            await using TestParty clinician = TestParty.Create(relay, new UserId("dr-dup"), ParticipantRole.Clinician, clinic);
            await using TestParty patient = TestParty.Create(relay, new UserId("patient-dup"), ParticipantRole.Patient);
            await Task.WhenAll(clinician.Client.StartAsync(), patient.Client.StartAsync());
            target.Relay.Faults.DuplicateProbability = 1;
            Conversation conversation = await patient.Client.Conversations.OpenWithClinicAsync(clinic);
            var ids = new List<MessageId>();
            for (int i = 0; i < 5; i++)
            {
                ids.Add((await patient.Client.Messages.SendTextAsync(conversation.Id, "dup " + i.ToString(CultureInfo.InvariantCulture))).Id);
            }

            foreach (MessageId id in ids)
            {
                await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == id);
            }

            await patient.Events.WaitAsync<MessageStatusChangedEvent>(e => e.MessageId == ids[^1] && e.Status == MessageStatus.Delivered);
            Assert.Equal(5, clinician.Events.Events.OfType<MessageReceivedEvent>().Count(e => e.Message.Message.Content is TextContent));
        }
    }
}

public sealed class SqliteOutboxDurabilityTests : OutboxDurabilityTests
{
    protected override RelayTarget CreateTarget() => EmbeddedRelayTarget.Sqlite("ws");
}
