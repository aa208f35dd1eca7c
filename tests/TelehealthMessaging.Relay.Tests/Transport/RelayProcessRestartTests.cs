using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using TelehealthMessaging.Relay.Tests.Infrastructure;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// Acceptance 2, the crash case: the relay host runs as a real process, is killed (SIGKILL) while envelopes stream to a
/// recipient on the WebSocket transport, and is started again on the same port and store. Every envelope must reach
/// the recipient at least once and the application exactly once, none lost.
/// </summary>
public sealed class RelayProcessRestartTests : IClassFixture<SqliteStoreTarget>, IClassFixture<PostgresStoreTarget>, IAsyncDisposable
{
    // Generous: a loaded 2-core machine starts a .NET host in seconds, not milliseconds. Nothing here waits for time to pass.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private const int Batches = 12;
    private const int BatchSize = 5;
    private const int AcknowledgedBeforeKill = 10;
    private const int ProcessedBeforeKill = 15;

    private readonly SqliteStoreTarget _sqlite;
    private readonly PostgresStoreTarget _postgres;
    private readonly ServiceProvider _services;
    private readonly TestDevice _alice = new();
    private readonly TestDevice _bob = new();

    public RelayProcessRestartTests(SqliteStoreTarget sqlite, PostgresStoreTarget postgres)
    {
        _sqlite = sqlite;
        _postgres = postgres;
        var services = new ServiceCollection();
        services.AddRelayTransportHttpClient();
        // The standard pipeline's first retry waits about 2 s; while the relay is down that only slows the test.
        services.Configure<HttpStandardResilienceOptions>(RelayTransport.HttpClientName + "-standard", o => o.Retry.Delay = TimeSpan.FromMilliseconds(50));
        _services = services.BuildServiceProvider();
    }

    [Fact]
    public async Task Killing_the_relay_mid_stream_and_restarting_it_loses_nothing_and_the_application_sees_each_envelope_once_on_sqlite() =>
        await KillAndRestartMidStreamAsync(await _sqlite.NewStoreAsync());

    [SkippableFact]
    public async Task Killing_the_relay_mid_stream_and_restarting_it_loses_nothing_and_the_application_sees_each_envelope_once_on_postgresql() =>
        await KillAndRestartMidStreamAsync(await _postgres.NewStoreAsync());

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        _alice.Dispose();
        _bob.Dispose();
    }

    private async Task KillAndRestartMidStreamAsync(Action<RelayOptions> store)
    {
        int port = RelayProcess.FreePort();
        List<string> arguments = RelayProcess.Arguments(store);
        RelayProcess relay = await RelayProcess.StartAsync(port, arguments, Patience);
        try
        {
            using (var client = new RelayTestClient(relay.BaseAddress, TimeProvider.System))
            {
                Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(_alice)).Status);
                Assert.Equal(HttpStatusCode.Created, (await client.RegisterAsync(_bob)).Status);
            }

            await using IRelayTransport alice = Create(relay, _alice, "http");
            await using IRelayTransport bob = Create(relay, _bob, "ws");
            var recipient = new Recipient(bob);
            Task connected = recipient.StateReached(TransportState.Connected);
            using var stop = new CancellationTokenSource();
            Task receiving = recipient.RunAsync(stop.Token);
            await connected.WaitAsync(Patience);

            OutgoingEnvelope[][] batches = Enumerable.Range(0, Batches)
                .Select(_ => Enumerable.Range(0, BatchSize).Select(_ => new OutgoingEnvelope(MessageId.New(), _bob.DeviceId, _bob.SealedEnvelope(1024))).ToArray())
                .ToArray();
            foreach (OutgoingEnvelope[] batch in batches[..(Batches / 2)])
            {
                await SendUntilAcceptedAsync(alice, batch);
            }

            // Mid-stream: the recipient has processed some envelopes, acknowledged fewer, and more are stored or in flight.
            await recipient.Processed(ProcessedBeforeKill).WaitAsync(Patience);
            using (var client = new RelayTestClient(relay.BaseAddress, TimeProvider.System))
            {
                // The first acknowledgements must have reached the store: an ack frame lost with the process would leave
                // its envelope behind the resume cursor, stored until it expires.
                await WaitUntilAppliedAsync(client, recipient.ProcessedIds.Take(AcknowledgedBeforeKill).ToHashSet());
            }

            Task reconnecting = recipient.StateReached(TransportState.Reconnecting);
            await relay.KillAsync();
            await reconnecting.WaitAsync(Patience);
            Task reconnected = recipient.StateReached(TransportState.Connected);
            Task sendingDuringOutage = Task.Run(async () =>
            {
                foreach (OutgoingEnvelope[] batch in batches[(Batches / 2)..])
                {
                    await SendUntilAcceptedAsync(alice, batch);
                }
            });

            relay = await RelayProcess.StartAsync(port, arguments, Patience);
            await reconnected.WaitAsync(Patience);
            await sendingDuringOutage.WaitAsync(Patience);
            int total = Batches * BatchSize;
            await recipient.Processed(total).WaitAsync(Patience);

            MessageId[] sent = batches.SelectMany(b => b).Select(e => e.Id).ToArray();
            Assert.Equal(sent.Select(id => id.Value).Order(StringComparer.Ordinal), recipient.ProcessedIds.Select(id => id.Value).Order(StringComparer.Ordinal));
            // Envelopes processed but not acknowledged before the kill came back from the store after the restart,
            // at least once more, and the duplicate filter kept them from the application.
            Assert.True(recipient.TransportDuplicates >= ProcessedBeforeKill - AcknowledgedBeforeKill, $"{recipient.TransportDuplicates} redelivered");
            using (var client = new RelayTestClient(relay.BaseAddress, TimeProvider.System))
            {
                await WaitUntilMailboxEmptyAsync(client);
            }

            await stop.CancelAsync();
            await receiving.WaitAsync(Patience);
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }

    /// <summary>Submission is idempotent by envelope id, so a batch whose answer was lost is simply sent again.</summary>
    private static async Task SendUntilAcceptedAsync(IRelayTransport sender, OutgoingEnvelope[] batch)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (true)
        {
            try
            {
                await sender.SendAsync(batch, deadline.Token);
                return;
            }
            catch (RelayRequestException error) when (error.IsTransient && !deadline.IsCancellationRequested)
            {
                // The relay is down or restarting; the resilience pipeline has already waited between its attempts.
            }
        }
    }

    private Task WaitUntilMailboxEmptyAsync(RelayTestClient client) => WaitUntilAppliedAsync(client, null);

    /// <summary>Socket acks are applied by the relay asynchronously: fetches until none of <paramref name="acknowledged"/> (or nothing at all) is pending.</summary>
    private async Task WaitUntilAppliedAsync(RelayTestClient client, HashSet<MessageId>? acknowledged)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while ((await client.FetchAsync(_bob)).Envelopes.Any(e => acknowledged is null || acknowledged.Contains(new MessageId(e.Id))))
        {
            deadline.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }

    private IRelayTransport Create(RelayProcess relay, TestDevice device, string scheme)
    {
        var options = new RelayTransportOptions
        {
            Endpoint = new UriBuilder(relay.BaseAddress) { Scheme = scheme }.Uri,
            Device = device.DeviceId,
            RequestSigner = data => device.IdentityKey.Sign(data.Span),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
            ReconnectRandom = new Random(1),
        };
        return RelayTransport.Create(options, _services.GetRequiredService<IHttpClientFactory>());
    }

    /// <summary>
    /// The recipient application: processes each envelope the filter accepts and acknowledges every delivery, except
    /// that after the first <see cref="AcknowledgedBeforeKill"/> it holds acknowledgements back until the connection
    /// drops, so that the kill finds delivered-but-unacknowledged envelopes that the restarted relay must deliver again.
    /// </summary>
    private sealed class Recipient
    {
        private readonly object _gate = new();
        private readonly IRelayTransport _transport;
        private readonly DuplicateMessageFilter _filter = new();
        private readonly List<MessageId> _processed = [];
        private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiters = [];
        private bool _holdingAcknowledgements;
        private bool _heldOnce;

        public Recipient(IRelayTransport transport)
        {
            _transport = transport;
            transport.StateChanged += (_, e) =>
            {
                if (e.Current == TransportState.Reconnecting)
                {
                    lock (_gate)
                    {
                        _holdingAcknowledgements = false;
                    }
                }
            };
        }

        public int TransportDuplicates { get; private set; }

        public IReadOnlyList<MessageId> ProcessedIds
        {
            get
            {
                lock (_gate)
                {
                    return [.. _processed];
                }
            }
        }

        public Task Processed(int count) => When(() => _processed.Count >= count);

        public Task StateReached(TransportState state)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _transport.StateChanged += (_, e) =>
            {
                if (e.Current == state)
                {
                    reached.TrySetResult();
                }
            };
            return reached.Task;
        }

        public async Task RunAsync(CancellationToken ct)
        {
            try
            {
                await foreach (IncomingEnvelope envelope in _transport.ReceiveAsync(null, ct))
                {
                    bool acknowledge;
                    lock (_gate)
                    {
                        if (_filter.TryAccept(envelope.Id))
                        {
                            _processed.Add(envelope.Id);
                        }
                        else
                        {
                            TransportDuplicates++;
                        }

                        acknowledge = !_holdingAcknowledgements;
                        if (_processed.Count == AcknowledgedBeforeKill && !_heldOnce)
                        {
                            _heldOnce = true;
                            _holdingAcknowledgements = true;
                        }
                    }

                    if (acknowledge)
                    {
                        try
                        {
                            await _transport.AcknowledgeAsync([envelope.Id], ct);
                        }
                        catch (RelayRequestException error) when (error.IsTransient)
                        {
                            // The relay went down under the ack: the envelope stays stored and comes back after the restart.
                        }
                    }

                    Signal();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }

        private Task When(Func<bool> condition)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (condition())
                {
                    done.SetResult();
                }
                else
                {
                    _waiters.Add((condition, done));
                }
            }

            return done.Task;
        }

        private void Signal()
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Condition() && w.Done.TrySetResult());
            }
        }
    }
}
