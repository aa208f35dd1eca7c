using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// The durable broker a team might pick instead: nats-server with JetStream file storage in a child process. One
/// work-queue stream (an acknowledged message is deleted, like the relay's mailboxes), a subject and a durable pull
/// consumer per recipient device, one client connection per recipient (as each device holds its own socket), and
/// publishes awaited for their PubAck (stored) with the envelope id as Nats-Msg-Id.
/// </summary>
internal sealed class JetStreamTarget(LoadSettings settings) : ILoadTarget
{
    private const string StreamName = "ENVELOPES";
    private readonly string _storeDirectory = Path.Combine(Path.GetTempPath(), "telehealth-loadtest-nats", Guid.NewGuid().ToString("N"));
    private readonly ConcurrentBag<NatsConnection> _recipientConnections = [];
    private readonly ConcurrentBag<Task> _loops = [];
    private NatsConnection[] _senderConnections = [];
    private NatsJSContext[] _senderContexts = [];
    private string _url = "";
    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task StartAsync(IReadOnlyList<DevicePair> pairs, CancellationToken ct)
    {
        int port = ServerProcess.FreePort();
        _url = $"nats://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        Directory.CreateDirectory(_storeDirectory);
        _server = ServerProcess.Start(settings.NatsServer, ["-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", _storeDirectory]);

        // Senders share a few connections, as the relay's senders share pooled HTTP connections.
        _senderConnections = Enumerable.Range(0, 4).Select(_ => new NatsConnection(new NatsOpts { Url = _url, Name = "loadtest-sender" })).ToArray();
        _senderContexts = _senderConnections.Select(c => new NatsJSContext(c)).ToArray();
        // A TCP probe, not a NATS connect: a NATS connection whose first connect failed (the server not listening
        // yet) threw NatsException, which the wait does not retry, and one round of five lost its JetStream run.
        await _server.WaitReadyAsync(
            async token =>
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, token).ConfigureAwait(false);
                return true;
            },
            TimeSpan.FromSeconds(30),
            ct).ConfigureAwait(false);
        foreach (NatsConnection connection in _senderConnections)
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }

        NatsJSContext js = _senderContexts[0];
        await js.CreateStreamAsync(
            new StreamConfig(StreamName, ["env.>"])
            {
                Storage = StreamConfigStorage.File,
                Retention = StreamConfigRetention.Workqueue,
                DuplicateWindow = TimeSpan.FromMinutes(2),
            },
            ct).ConfigureAwait(false);
        await Parallel.ForEachAsync(pairs, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (pair, token) =>
        {
            await js.CreateOrUpdateConsumerAsync(
                StreamName,
                new ConsumerConfig(ConsumerName(pair)) { FilterSubject = Subject(pair), AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = TimeSpan.FromSeconds(30) },
                token).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public async Task ConnectRecipientAsync(DevicePair pair, CancellationToken ct)
    {
        var connection = new NatsConnection(new NatsOpts { Url = _url, Name = "loadtest-recipient" });
        _recipientConnections.Add(connection);
        await connection.ConnectAsync().ConfigureAwait(false);
        var js = new NatsJSContext(connection);
        INatsJSConsumer consumer = await js.GetConsumerAsync(StreamName, ConsumerName(pair), ct).ConfigureAwait(false);
        _loops.Add(Task.Run(() => ReceiveAsync(consumer, pair, ct), CancellationToken.None));
    }

    // The senders share a few connections opened at start.
    public Task ConnectSenderAsync(DevicePair pair, CancellationToken ct) => Task.CompletedTask;

    public async Task SendAsync(DevicePair pair, IReadOnlyList<(MessageId Id, byte[] Data)> batch, CancellationToken ct)
    {
        NatsJSContext js = _senderContexts[pair.Index % _senderContexts.Length];
        string subject = Subject(pair);
        var acks = new Task<PubAckResponse>[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            acks[i] = js.PublishAsync(subject, batch[i].Data, opts: new NatsJSPubOpts { MsgId = batch[i].Id.Value }, cancellationToken: ct).AsTask();
        }

        foreach (PubAckResponse ack in await Task.WhenAll(acks).ConfigureAwait(false))
        {
            ack.EnsureSuccess();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (NatsConnection connection in _recipientConnections.Concat(_senderConnections))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
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

        try
        {
            Directory.Delete(_storeDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static async Task ReceiveAsync(INatsJSConsumer consumer, DevicePair pair, CancellationToken ct)
    {
        try
        {
            await foreach (NatsJSMsg<byte[]> message in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 100 }, cancellationToken: ct).ConfigureAwait(false))
            {
                string? id = message.Headers?["Nats-Msg-Id"].ToString();
                if (id is not null && message.Data is not null)
                {
                    pair.OnReceived(new MessageId(id), message.Data, Stopwatch.GetTimestamp());
                }

                await message.AckAsync(cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException or NatsException)
        {
        }
    }

    // Device ids are 1-64 characters of A-Z a-z 0-9 - . ; a dot would split a NATS subject token and is not allowed in a consumer name.
    private static string Subject(DevicePair pair) => "env." + pair.Recipient.DeviceId.Value.Replace('.', '_');

    private static string ConsumerName(DevicePair pair) => "d-" + pair.Recipient.DeviceId.Value.Replace('.', '_');
}
