using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// The relay host (or the ceiling forwarder, which speaks the same wire protocol) in a child process, driven by the
/// SDK's own transports: senders keep a WebSocket open and submit as frames on it (or by HTTP POST with --send http),
/// recipients receive through the WebSocket transport and acknowledge over the socket, coalescing acks as a client
/// draining a burst would.
/// </summary>
internal sealed partial class RelayTarget : ILoadTarget
{
    private readonly LoadSettings _settings;
    private readonly ServiceProvider _services;
    private readonly IHttpClientFactory _httpFactory;
    private readonly ConcurrentDictionary<int, IRelayTransport> _senders = new();
    private readonly ConcurrentBag<IRelayTransport> _recipients = [];
    private readonly ConcurrentBag<Task> _loops = [];
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "telehealth-loadtest", Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<double> _submitMilliseconds = new();
    private readonly bool _ceiling;
    private Uri? _baseAddress;
    private ServerProcess? _server;

    public RelayTarget(LoadSettings settings)
    {
        _settings = settings;
        _ceiling = settings.Mode == "ceiling";
        var services = new ServiceCollection();
        services.AddRelayTransportHttpClient()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) });
        _services = services.BuildServiceProvider();
        _httpFactory = _services.GetRequiredService<IHttpClientFactory>();
    }

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>The relay's own time per submission (auth, parse, store), from its debug log when --profile is on.</summary>
    public IReadOnlyCollection<double> SubmitMilliseconds => _submitMilliseconds;

    public async Task StartAsync(IReadOnlyList<DevicePair> pairs, CancellationToken ct)
    {
        int port = ServerProcess.FreePort();
        string urls = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        _baseAddress = new Uri(urls);
        if (_ceiling)
        {
            string self = typeof(RelayTarget).Assembly.Location;
            // Server GC, as an ASP.NET Core app has by default and as the relay host ships; this process (the
            // generator) keeps workstation GC. Measured on the ceiling it makes no difference: it is generator-bound.
            _server = ServerProcess.Start("dotnet", [self, "serve-ceiling", "--urls", urls], new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" });
        }
        else
        {
            string dll = _settings.ResolveRelayDll();
            if (!File.Exists(dll))
            {
                throw new ArgumentException($"The relay host {dll} does not exist; build it with dotnet build src/TelehealthMessaging.Relay -c Release, or pass --relay-dll.");
            }

            Directory.CreateDirectory(_dataDirectory);
            List<string> arguments =
            [
                dll, "--urls", urls,
                "--Relay:DataDirectory=" + _dataDirectory,
                // The per-device limits protect a public relay from one device; the load is many honest devices.
                "--Relay:RateLimitPerSecond=1000000", "--Relay:RateLimitBurst=1000000",
                "--Relay:MaxPendingPerMailbox=1000000",
                "--Logging:LogLevel:Default=Warning",
            ];
            if (_settings.Mode == "relay-postgres")
            {
                arguments.Add("--Relay:StorageProvider=PostgreSql");
                arguments.Add("--Relay:PostgresConnectionString=" + _settings.PostgresConnectionString);
            }

            if (_settings.Profile)
            {
                arguments.Add("--Logging:LogLevel:TelehealthMessaging.Relay.Api.RelayApi=Debug");
            }

            // The relay runs with its own runtimeconfig (Server GC), as it ships. Until session 6 the tool forced
            // workstation GC on it, which cost it 7-19 % of its throughput at full load (three alternating pairs).
            _server = ServerProcess.Start("dotnet", arguments);
            if (_settings.Profile)
            {
                _server.Line += KeepSubmitTiming;
            }
        }

        using var probe = new HttpClient { BaseAddress = _baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await _server.WaitReadyAsync(
            async token =>
            {
                using HttpResponseMessage answer = await probe.GetAsync(_ceiling ? "/health" : "/ready", token).ConfigureAwait(false);
                return answer.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(60),
            ct).ConfigureAwait(false);

        if (!_ceiling)
        {
            using var http = new HttpClient { BaseAddress = _baseAddress };
            await Parallel.ForEachAsync(pairs, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (pair, token) =>
            {
                await pair.Sender.RegisterAsync(http, token).ConfigureAwait(false);
                await pair.Recipient.RegisterAsync(http, token).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
    }

    public async Task ConnectRecipientAsync(DevicePair pair, CancellationToken ct)
    {
        IRelayTransport transport = RelayTransport.Create(Options(pair.Recipient, "ws"), _httpFactory);
        _recipients.Add(transport);
        Task connected = ConnectedAsync(transport, ct);
        var acks = Channel.CreateUnbounded<MessageId>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _loops.Add(Task.Run(() => ReceiveAsync(transport, pair, acks.Writer, ct), CancellationToken.None));
        _loops.Add(Task.Run(() => AcknowledgeAsync(transport, acks.Reader, ct), CancellationToken.None));
        await connected.ConfigureAwait(false);
    }

    public async Task ConnectSenderAsync(DevicePair pair, CancellationToken ct)
    {
        IRelayTransport transport = RelayTransport.Create(Options(pair.Sender, _settings.Send), _httpFactory);
        _senders[pair.Index] = transport;
        if (_settings.Send == "ws")
        {
            // The socket is open while its receive stream runs; nothing is sent to a sender.
            Task connected = ConnectedAsync(transport, ct);
            var none = Channel.CreateUnbounded<MessageId>();
            _loops.Add(Task.Run(() => ReceiveAsync(transport, pair, none.Writer, ct), CancellationToken.None));
            await connected.ConfigureAwait(false);
        }
    }

    public Task SendAsync(DevicePair pair, IReadOnlyList<(MessageId Id, byte[] Data)> batch, CancellationToken ct)
    {
        IRelayTransport sender = _senders[pair.Index];
        var envelopes = new OutgoingEnvelope[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            envelopes[i] = new OutgoingEnvelope(batch[i].Id, pair.Recipient.DeviceId, batch[i].Data);
        }

        return sender.SendAsync(envelopes, ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IRelayTransport transport in _recipients.Concat(_senders.Values))
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await ReceiveLoops.EndAsync(_loops).ConfigureAwait(false);
        }
        finally
        {
            if (_server is not null)
            {
                await _server.DisposeAsync().ConfigureAwait(false);
            }
        }

        await _services.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static Task ConnectedAsync(IRelayTransport transport, CancellationToken ct)
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.StateChanged += (_, e) =>
        {
            if (e.Current == TransportState.Connected)
            {
                connected.TrySetResult();
            }
        };
        return connected.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
    }

    private static async Task ReceiveAsync(IRelayTransport transport, DevicePair pair, ChannelWriter<MessageId> acks, CancellationToken ct)
    {
        try
        {
            await foreach (IncomingEnvelope envelope in transport.ReceiveAsync(null, ct).ConfigureAwait(false))
            {
                pair.OnReceived(envelope.Id, envelope.Data.Span, Stopwatch.GetTimestamp());
                acks.TryWrite(envelope.Id);
            }
        }
        catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException
            || (error is System.Net.WebSockets.WebSocketException && ct.IsCancellationRequested))
        {
            // At the end of the run the transport may surface the aborted socket instead of the cancellation.
        }
        finally
        {
            acks.TryComplete();
        }
    }

    /// <summary>Acknowledges what has arrived in batches of up to 100: one frame for a burst, one per envelope when idle.</summary>
    private static async Task AcknowledgeAsync(IRelayTransport transport, ChannelReader<MessageId> acks, CancellationToken ct)
    {
        var batch = new List<MessageId>(100);
        try
        {
            while (await acks.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (batch.Count < 100 && acks.TryRead(out MessageId id))
                {
                    batch.Add(id);
                }

                await transport.AcknowledgeAsync(batch, ct).ConfigureAwait(false);
                batch.Clear();
            }
        }
        catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException or RelayRequestException)
        {
            // Unacknowledged envelopes stay stored and are delivered again: the run counts them as duplicates.
        }
    }

    private RelayTransportOptions Options(LoadDevice device, string scheme) => new()
    {
        Endpoint = new UriBuilder(_baseAddress!) { Scheme = scheme }.Uri,
        Device = device.DeviceId,
        RequestSigner = device.Sign,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromSeconds(2),
    };

    private void KeepSubmitTiming(string line)
    {
        Match match = SubmitTiming().Match(line);
        if (match.Success)
        {
            _submitMilliseconds.Enqueue(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }
    }

    // RelayLog.EnvelopesStored: "Device {DeviceId} stored {Stored} envelopes (...) in {ElapsedMs} ms".
    [GeneratedRegex(@"stored \d+ envelopes \(.*\) in ([0-9.]+) ms")]
    private static partial Regex SubmitTiming();
}
