using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// A relay store that commits every submission and then holds its answer until released: a relay whose frames all
/// sit in flight, as under a slow database.
/// </summary>
internal sealed class HeldSubmissionsStore(IRelayStore inner) : DelegatingRelayStore(inner)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _watchers = [];
    private int _held;

    /// <summary>Wraps the store the relay registered; <paramref name="installed"/> receives the wrapper once the relay creates it.</summary>
    public static void Install(IServiceCollection services, Action<HeldSubmissionsStore> installed) => Wrap(services, inner =>
    {
        var store = new HeldSubmissionsStore(inner);
        installed(store);
        return store;
    });

    /// <summary>Completes once <paramref name="count"/> submissions are committed and held.</summary>
    public Task HeldAsync(int count)
    {
        lock (_gate)
        {
            if (_held >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watchers.Add((count, reached));
            return reached.Task;
        }
    }

    /// <summary>Lets every held answer go, and every later one pass.</summary>
    public void Release() => _released.TrySetResult();

    public override async Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken)
    {
        EnvelopeSubmissionOutcome outcome = await Inner.SubmitEnvelopesAsync(envelopes, now, expiresAt, maxPendingPerMailbox, nonce, cancellationToken);
        lock (_gate)
        {
            _held++;
            foreach ((int count, TaskCompletionSource reached) in _watchers.Where(w => w.Count <= _held))
            {
                reached.TrySetResult();
            }
        }

        await _released.Task.WaitAsync(cancellationToken);
        return outcome;
    }
}
