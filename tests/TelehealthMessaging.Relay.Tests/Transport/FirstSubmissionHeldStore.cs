using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// A relay store that commits the first submission and then holds its answer until released: the window in which a
/// client's socket can die after the relay stored its envelopes but before the answer reached it.
/// </summary>
internal sealed class FirstSubmissionHeldStore(IRelayStore inner) : DelegatingRelayStore(inner)
{
    private readonly TaskCompletionSource _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _submissions;

    /// <summary>Completes once the first submission is committed (and its answer is being held).</summary>
    public Task FirstStored => _stored.Task;

    /// <summary>Wraps the store the relay registered.</summary>
    public static void Install(IServiceCollection services) => Wrap(services, inner => new FirstSubmissionHeldStore(inner));

    /// <summary>Lets the first submission's answer go.</summary>
    public void Release() => _released.TrySetResult();

    public override async Task<EnvelopeSubmissionOutcome> SubmitEnvelopesAsync(IReadOnlyList<RelayEnvelope> envelopes, DateTimeOffset now, DateTimeOffset expiresAt, int maxPendingPerMailbox, RelayNonce? nonce, CancellationToken cancellationToken)
    {
        EnvelopeSubmissionOutcome outcome = await Inner.SubmitEnvelopesAsync(envelopes, now, expiresAt, maxPendingPerMailbox, nonce, cancellationToken);
        if (Interlocked.Increment(ref _submissions) == 1)
        {
            _stored.TrySetResult();
            // The session ending cancels this; the envelopes stay committed either way.
            await _released.Task.WaitAsync(cancellationToken);
        }

        return outcome;
    }
}
