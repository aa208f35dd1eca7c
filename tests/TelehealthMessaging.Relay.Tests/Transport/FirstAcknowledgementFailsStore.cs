using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// A relay store whose first acknowledgement fails as a database outage would, before deleting anything: the relay
/// then closes the socket that carried the ack frame, so the ack is lost exactly as when the socket dies in flight.
/// </summary>
internal sealed class FirstAcknowledgementFailsStore(IRelayStore inner) : DelegatingRelayStore(inner)
{
    private int _acknowledgements;

    /// <summary>Wraps the store the relay registered.</summary>
    public static void Install(IServiceCollection services) => Wrap(services, inner => new FirstAcknowledgementFailsStore(inner));

    public override Task<int> AcknowledgeEnvelopesAsync(DeviceId recipient, IReadOnlyList<MessageId> ids, DateTimeOffset rememberUntil, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _acknowledgements) == 1
            ? throw new StoreUnavailableException()
            : Inner.AcknowledgeEnvelopesAsync(recipient, ids, rememberUntil, cancellationToken);

    private sealed class StoreUnavailableException : DbException
    {
        public StoreUnavailableException()
            : base("The store is unavailable (test fault).")
        {
        }
    }
}
