using System.Collections.Concurrent;

namespace TelehealthMessaging.Relay.Delivery;

/// <summary>
/// Wakes this instance's WebSocket sessions when their mailbox may have new envelopes. Fed by local submissions and,
/// on PostgreSQL, by LISTEN/NOTIFY from other instances.
/// </summary>
/// <remarks>
/// A session takes <see cref="NextSignal"/> BEFORE reading its mailbox; a submission that commits after that read
/// completes the task, so no wake-up falls between reading and waiting.
/// </remarks>
internal sealed class MailboxSignal
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public Task NextSignal(DeviceId mailbox) =>
        _waiters.GetOrAdd(mailbox.Value, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string mailbox)
    {
        if (_waiters.TryRemove(mailbox, out TaskCompletionSource? waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>Wakes every session, for when notifications may have been lost (the listener reconnected).</summary>
    public void NotifyAll()
    {
        foreach (string mailbox in _waiters.Keys)
        {
            Notify(mailbox);
        }
    }
}
