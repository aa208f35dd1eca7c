using TelehealthMessaging.Relay.Delivery;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Delivery;

public sealed class MailboxSignalTests
{
    private static readonly DeviceId Bob = new("bob-device");

    [Fact]
    public async Task Envelopes_handed_over_in_any_order_are_taken_in_cursor_order_without_a_store_read()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        Task wake = subscription.WaitAsync();

        signal.Publish(Bob, [Envelope(3)]);
        signal.Publish(Bob, [Envelope(1), Envelope(2)]);

        await wake.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(subscription.Take(out List<RelayPendingEnvelope> handed));
        Assert.Equal([1L, 2L, 3L], handed.Select(e => e.Cursor));
        Assert.False(subscription.WaitAsync().IsCompleted);
    }

    [Fact]
    public void A_wake_up_without_envelopes_asks_for_a_store_read_and_drops_what_the_read_returns_anyway()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        signal.Publish(Bob, [Envelope(1)]);

        signal.Notify(Bob.Value);

        Assert.True(subscription.WaitAsync().IsCompleted);
        Assert.True(subscription.Take(out List<RelayPendingEnvelope> handed));
        Assert.Empty(handed);
    }

    [Fact]
    public void A_session_too_far_behind_reads_its_mailbox_instead_of_queueing_without_bound()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);

        for (int cursor = 1; cursor <= MailboxSubscription.MaxHanded + 1; cursor++)
        {
            signal.Publish(Bob, [Envelope(cursor)]);
        }

        Assert.True(subscription.Take(out List<RelayPendingEnvelope> handed));
        Assert.Empty(handed);
    }

    [Fact]
    public void Envelopes_go_only_to_their_mailbox_and_not_to_closed_sessions()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription other = signal.Subscribe(new DeviceId("carol-device"));
        MailboxSubscription closed = signal.Subscribe(Bob);
        closed.Dispose();

        signal.Publish(Bob, [Envelope(1)]);
        signal.NotifyAll();

        Assert.False(closed.WaitAsync().IsCompleted);
        Assert.True(other.Take(out List<RelayPendingEnvelope> handed)); // NotifyAll reached the open session only
        Assert.Empty(handed);
    }

    [Fact]
    public async Task Closing_a_mailbox_wakes_its_sessions_as_closed_and_leaves_others_alone()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription revoked = signal.Subscribe(Bob);
        using MailboxSubscription other = signal.Subscribe(new DeviceId("carol-device"));
        Task wake = revoked.WaitAsync();

        signal.Close(Bob.Value);

        await wake.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(revoked.IsClosed);
        Assert.False(other.IsClosed);
        Assert.False(other.WaitAsync().IsCompleted);
    }

    private static RelayPendingEnvelope Envelope(long cursor) => new(cursor, new MessageId($"m{cursor}"), [1, 2, 3]);
}
