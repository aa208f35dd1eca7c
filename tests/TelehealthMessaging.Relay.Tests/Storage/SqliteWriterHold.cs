using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Storage;

/// <summary>
/// Holds an SQLite writer inside one write until released, so that everything queued meanwhile runs as the next group,
/// in one transaction.
/// </summary>
/// <remarks>
/// <see cref="Start"/> returns only once the writer is inside the holding write: a write queued before that could be
/// taken into the holder's own group, and run before the test is ready (a cancellation not yet made, say).
/// </remarks>
internal sealed class SqliteWriterHold : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ManualResetEventSlim _gate = new();

    private SqliteWriterHold(SqliteWriteQueue queue)
    {
        using var holding = new ManualResetEventSlim();
        Held = queue.RunAsync(
            _ =>
            {
                holding.Set();
                return _gate.Wait(Timeout);
            },
            CancellationToken.None);
        Assert.True(holding.Wait(Timeout), "the writer never reached the holding write");
    }

    /// <summary>The holding write: true when it was released before its timeout.</summary>
    public Task<bool> Held { get; }

    public static SqliteWriterHold Start(SqliteWriteQueue queue) => new(queue);

    /// <summary>Lets the writer go on to the group queued behind the hold.</summary>
    public void Release() => _gate.Set();

    public void Dispose()
    {
        // The writer may still be inside the gate's wait: let it out and wait for it before the gate goes.
        _gate.Set();
        Held.Wait(Timeout);
        _gate.Dispose();
    }
}
