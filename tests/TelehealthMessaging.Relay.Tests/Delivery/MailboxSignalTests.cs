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
        Assert.False(subscription.Take(0, out List<RelayPendingEnvelope> handed));
        Assert.Equal([1L, 2L, 3L], handed.Select(e => e.Cursor));
        Assert.False(subscription.WaitAsync().IsCompleted);
    }

    [Fact]
    public async Task A_gap_left_by_a_submission_still_under_way_is_waited_out_and_filled_without_a_store_read()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        IReadOnlyList<RelayEnvelope> first = [Submitted("m1")], second = [Submitted("m2")];
        signal.BeginSubmission(first);
        signal.BeginSubmission(second);

        // Committed together, the second submission is answered (and hands over cursor 2) before the first.
        signal.Publish(Bob, [Envelope(2)]);
        signal.EndSubmission(second);
        Assert.False(subscription.Take(0, out List<RelayPendingEnvelope> early));
        Assert.Empty(early);
        // What it holds does not wake the session by itself.
        Task wake = subscription.WaitAsync();
        Assert.False(wake.IsCompleted);

        signal.Publish(Bob, [Envelope(1)]);
        signal.EndSubmission(first);

        await wake.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(subscription.Take(0, out List<RelayPendingEnvelope> handed));
        Assert.Equal([1L, 2L], handed.Select(e => e.Cursor));
        Assert.False(subscription.WaitAsync().IsCompleted);
    }

    [Fact]
    public void A_gap_with_no_submission_under_way_on_this_instance_is_read_from_the_store()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        // Cursor 2 was committed elsewhere (another instance) or never handed over: nothing here will hand it.
        signal.Publish(Bob, [Envelope(1), Envelope(3)]);

        Assert.True(subscription.Take(0, out List<RelayPendingEnvelope> handed));
        Assert.Equal([1L], handed.Select(e => e.Cursor));
        // The read returns 3 as well: it is not handed again.
        Assert.False(subscription.Take(1, out List<RelayPendingEnvelope> after));
        Assert.Empty(after);
    }

    [Fact]
    public async Task A_session_holding_a_gap_is_woken_to_read_the_store_when_the_last_submission_ends_without_filling_it()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        IReadOnlyList<RelayEnvelope> pending = [Submitted("m1")];
        signal.BeginSubmission(pending);
        signal.Publish(Bob, [Envelope(2)]);
        Assert.False(subscription.Take(0, out _));
        Task wake = subscription.WaitAsync();

        // It ended without handing cursor 1 over (it failed, or its outcome was a notification instead).
        signal.EndSubmission(pending);

        await wake.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(subscription.Take(0, out List<RelayPendingEnvelope> handed));
        Assert.Empty(handed);
    }

    [Fact]
    public void Submissions_under_way_are_counted_per_envelope_and_per_mailbox()
    {
        var signal = new MailboxSignal();
        var carol = new DeviceId("carol-device");
        IReadOnlyList<RelayEnvelope> toBoth = [Submitted("m1"), Submitted("m2"), Submitted("m3", carol)];
        IReadOnlyList<RelayEnvelope> toBob = [Submitted("m4")];

        signal.BeginSubmission(toBoth);
        signal.BeginSubmission(toBob);
        signal.EndSubmission(toBoth);

        Assert.True(signal.IsSubmitting(Bob.Value));
        Assert.False(signal.IsSubmitting(carol.Value));
        signal.EndSubmission(toBob);
        Assert.False(signal.IsSubmitting(Bob.Value));
    }

    [Fact]
    public void A_wake_up_without_envelopes_asks_for_a_store_read_and_drops_what_the_read_returns_anyway()
    {
        var signal = new MailboxSignal();
        using MailboxSubscription subscription = signal.Subscribe(Bob);
        signal.Publish(Bob, [Envelope(1)]);

        signal.Notify(Bob.Value);

        Assert.True(subscription.WaitAsync().IsCompleted);
        Assert.True(subscription.Take(0, out List<RelayPendingEnvelope> handed));
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

        Assert.True(subscription.Take(0, out List<RelayPendingEnvelope> handed));
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
        Assert.True(other.Take(0, out List<RelayPendingEnvelope> handed)); // NotifyAll reached the open session only
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

    private static RelayEnvelope Submitted(string id, DeviceId? recipient = null) => new(new MessageId(id), recipient ?? Bob, [1, 2, 3]);
}
