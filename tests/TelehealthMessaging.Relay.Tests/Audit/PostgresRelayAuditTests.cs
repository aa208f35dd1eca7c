using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Relay.Audit;
using TelehealthMessaging.Relay.Tests.Infrastructure;

namespace TelehealthMessaging.Relay.Tests.Audit;

/// <summary>The audit scenarios on PostgreSQL, plus what only a shared database can do: several instances, several chains.</summary>
public sealed class PostgresRelayAuditTests(PostgresStoreTarget target) : RelayAuditTests(target), IClassFixture<PostgresStoreTarget>
{
    [SkippableFact]
    public async Task Two_instances_on_one_database_keep_two_chains_that_each_verify()
    {
        Action<RelayOptions> store = await Target.NewStoreAsync();
        string keys = target.NewFolder();
        (RelayServer one, RelayTestClient clientOne) = await StartAsync(store, o => o.AuditKeyPath = Path.Combine(keys, "one"));
        await using RelayServer _ = one;
        (RelayServer two, RelayTestClient clientTwo) = await StartAsync(store, o => o.AuditKeyPath = Path.Combine(keys, "two"));
        await using RelayServer __ = two;

        // Interleaved appends on both instances: each lands in its own chain, at that chain's next position.
        var devices = Enumerable.Range(0, 6).Select(_ => new TestDevice()).ToList();
        await Task.WhenAll(devices.Select((d, i) => (i % 2 == 0 ? clientOne : clientTwo).RegisterAsync(d)));

        RelayAuditTrail trailOne = one.Services.GetRequiredService<RelayAuditTrail>();
        RelayAuditTrail trailTwo = two.Services.GetRequiredService<RelayAuditTrail>();
        List<AuditRecord> recordsOne = await trailOne.ReadAllAsync().ToListAsync();
        List<AuditRecord> recordsTwo = await trailTwo.ReadAllAsync().ToListAsync();
        Assert.NotEqual(trailOne.InstanceId, trailTwo.InstanceId);
        Assert.Equal(
            devices.Where((_, i) => i % 2 == 0).Select(d => d.DeviceId.Value).Order(StringComparer.Ordinal),
            recordsOne.Select(r => r.Subjects[0].Id).Order(StringComparer.Ordinal));
        Assert.Equal(
            devices.Where((_, i) => i % 2 == 1).Select(d => d.DeviceId.Value).Order(StringComparer.Ordinal),
            recordsTwo.Select(r => r.Subjects[0].Id).Order(StringComparer.Ordinal));
        Assert.All(recordsOne, r => Assert.Equal(trailOne.InstanceId, r.Device));
        Assert.All(recordsTwo, r => Assert.Equal(trailTwo.InstanceId, r.Device));
        Assert.True((await trailOne.VerifyAsync()).IsValid);
        Assert.True((await trailTwo.VerifyAsync()).IsValid);
        string[] chains = (await AuditDatabase.RowsAsync(store)).Select(r => r.Chain).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { trailOne.InstanceId.Value, trailTwo.InstanceId.Value }.Order(StringComparer.Ordinal), chains);
        devices.ForEach(d => d.Dispose());
    }
}
