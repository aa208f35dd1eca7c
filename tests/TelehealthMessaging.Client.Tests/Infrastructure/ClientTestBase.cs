namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>One relay target per test and the parties created on it, disposed together.</summary>
public abstract class ClientTestBase : IAsyncLifetime
{
    private readonly List<TestParty> _parties = [];

    protected RelayTarget Target { get; private set; } = null!;

    protected Uri Relay { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Target = CreateTarget();
        Relay = await Target.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (TestParty party in _parties)
        {
            await party.DisposeAsync();
        }

        await Target.DisposeAsync();
    }

    protected abstract RelayTarget CreateTarget();

    /// <summary>Keeps <paramref name="party"/> for disposal at the end of the test.</summary>
    protected TestParty Add(TestParty party)
    {
        _parties.Add(party);
        return party;
    }
}
