using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>A relay store whose prekey claims fail with a database error, transient (an outage) or not (a bug).</summary>
internal sealed class FailingClaimsStore(IRelayStore inner, bool transient) : DelegatingRelayStore(inner)
{
    /// <summary>Wraps the store the relay registered.</summary>
    public static void Install(IServiceCollection services, bool transient) => Wrap(services, inner => new FailingClaimsStore(inner, transient));

    public override Task<RelayPrekeyBundle?> ClaimPrekeyBundleAsync(UserId userId, DeviceId deviceId, CancellationToken cancellationToken) =>
        Task.FromException<RelayPrekeyBundle?>(new StoreFailure(transient));

    private sealed class StoreFailure(bool transient) : DbException("the database refused (test)")
    {
        public override bool IsTransient => transient;
    }
}
