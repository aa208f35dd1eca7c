using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging;

/// <summary>
/// One device of one user (a patient or a clinician): intake, end-to-end encrypted messages and callbacks through a
/// relay. Create one per device and keep it for the app's lifetime.
/// </summary>
/// <remarks>
/// <para>
/// The first call opens the device from <see cref="TelehealthClientOptions.Store"/> (creating its keys the first time);
/// in the background the client then registers the device with the relay, publishes its keys, and starts receiving
/// and sending. Calls that send return once the item is stored in the durable, encrypted outbox: delivery continues in
/// the background across reconnects and app restarts; watch <see cref="MessageStatusChanged"/> for progress.
/// </para>
/// <para>Thread-safe. Dispose to stop the background work; unsent items stay in the outbox for the next start.</para>
/// </remarks>
public sealed partial class TelehealthClient : IAsyncDisposable, IDisposable
{
    private readonly TelehealthClientOptions _options;
    private readonly IHttpClientFactory? _httpClientFactory;
    private readonly ServiceProvider? _ownedServices;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _outboxSignal = new(0, int.MaxValue);
    private readonly object _subscribersGate = new();
    private readonly List<Channel<TelehealthEvent>> _subscribers = [];
    private readonly object _openGate = new();
    private Task? _open;
    private SecureMessenger? _messenger;
    private IRelayDirectory? _directory;
    private IRelayTransport? _transport;
    private LocalData? _data;
    private AuditLog? _audit;
    private ConsentLedger? _consents;
    private DeviceId _device;
    private Task _background = Task.CompletedTask;
    private bool _disposed;
    private int _disposeStarted;

    /// <summary>Creates a client from options; nothing is opened or sent until the first call.</summary>
    /// <param name="options">The settings; validated now (see <see cref="TelehealthClientOptions.Validate"/>).</param>
    /// <exception cref="ArgumentException">A setting is missing or wrong; the message names it.</exception>
    public TelehealthClient(TelehealthClientOptions options)
        : this(options, null)
    {
    }

    internal TelehealthClient(TelehealthClientOptions options, IHttpClientFactory? httpClientFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        if (httpClientFactory is null && options.RelayEndpoint!.Scheme is "http" or "https" or "ws" or "wss")
        {
            // Outside a DI host the client builds the same HTTP pipeline DI registers: signing plus the standard
            // resilience handler (retry with jitter honouring Retry-After, circuit breaker, timeouts).
            var services = new ServiceCollection();
            services.AddRelayTransportHttpClient();
            _ownedServices = services.BuildServiceProvider();
            httpClientFactory = _ownedServices.GetRequiredService<IHttpClientFactory>();
        }

        _httpClientFactory = httpClientFactory;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<TelehealthClient>() ?? NullLogger<TelehealthClient>.Instance;
        Devices = new DevicesClient(this);
        Conversations = new ConversationsClient(this);
        Messages = new MessagesClient(this);
        Intake = new IntakeClient(this);
        Callbacks = new CallbacksClient(this);
        Compliance = new ComplianceClient(this);
    }

    /// <summary>Raised for every event, after it is stored. Handlers run on the client's background loop: keep them short.</summary>
    public event EventHandler<TelehealthEvent>? EventReceived;

    /// <summary>A message arrived or was synced from another of this user's devices.</summary>
    public event EventHandler<MessageReceivedEvent>? MessageReceived;

    /// <summary>An outgoing item's status changed.</summary>
    public event EventHandler<MessageStatusChangedEvent>? MessageStatusChanged;

    /// <summary>An intake arrived in the clinic inbox.</summary>
    public event EventHandler<IntakeReceivedEvent>? IntakeReceived;

    /// <summary>A clinic work item was claimed.</summary>
    public event EventHandler<WorkItemClaimedEvent>? WorkItemClaimed;

    /// <summary>A callback request was created or changed state.</summary>
    public event EventHandler<CallbackChangedEvent>? CallbackChanged;

    /// <summary>The relay connection changed state.</summary>
    public event EventHandler<ConnectionStateChangedEvent>? ConnectionStateChanged;

    /// <summary>This user's id.</summary>
    public UserId User => _options.User;

    /// <summary>Patient or clinician.</summary>
    public ParticipantRole Role => _options.Role;

    /// <summary>The clinic this clinician device triages for, if any.</summary>
    public ClinicId? Clinic => _options.Clinic;

    /// <summary>This device's id (known once the device is open).</summary>
    public DeviceId Device => _device;

    /// <summary>Own and peers' devices, safety numbers, verification, revocation.</summary>
    public DevicesClient Devices { get; }

    /// <summary>Conversations with clinics and users, and their local history.</summary>
    public ConversationsClient Conversations { get; }

    /// <summary>Text and attachments, receipts.</summary>
    public MessagesClient Messages { get; }

    /// <summary>Intake forms, validation, red flags, submission; the clinic inbox for clinicians.</summary>
    public IntakeClient Intake { get; }

    /// <summary>Callback requests and their lifecycle.</summary>
    public CallbacksClient Callbacks { get; }

    /// <summary>Consents, the audit log, retention and erasure.</summary>
    public ComplianceClient Compliance { get; }

    internal TelehealthClientOptions Options => _options;

    internal TimeProvider Time => _time;

    internal Participant Self => new(_options.User, _options.Role);

    /// <summary>
    /// Opens the device and waits until it is registered with the relay and its keys are published. Optional: every
    /// other call opens the device on its own, and sending works while the relay is unreachable.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the set-up continues in the background).</param>
    /// <returns>A task that completes once the device is connected to the relay.</returns>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams every event from now on until cancelled. Several readers may read at once; each gets every event.
    /// </summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, in the order the client processed them.</returns>
    public async IAsyncEnumerable<TelehealthEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<TelehealthEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_subscribersGate)
        {
            _subscribers.Add(channel);
        }

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out TelehealthEvent? item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            lock (_subscribersGate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    /// <summary>
    /// Waits until every item in the outbox has been accepted by the relay (or failed permanently).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; sending continues.</param>
    /// <returns>A task that completes when the outbox is empty.</returns>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);

        // A device the relay refused can never drain its outbox: surface that refusal instead of waiting forever.
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        while (await PendingOutboxCountAsync(cancellationToken).ConfigureAwait(false) > 0)
        {
            TaskCompletionSource drained = Volatile.Read(ref _outboxDrained);
            if (await PendingOutboxCountAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                break;
            }

            await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops receiving and sending. Unsent items stay in the outbox and are sent after the next start.</summary>
    /// <returns>A task that completes once background work has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _background.ConfigureAwait(false);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // The loops end by cancellation (or fail on the way out); what they had not finished stays in the store
            // (outbox, unacknowledged envelopes) for the next start.
        }

        _disposed = true;

        if (_transport is not null)
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }

        if (_directory is not null)
        {
            await _directory.DisposeAsync().ConfigureAwait(false);
        }

        _messenger?.Dispose();
        _data?.Dispose();
        _audit?.Dispose();
        _consents?.Dispose();
        if (_ownedServices is not null)
        {
            await _ownedServices.DisposeAsync().ConfigureAwait(false);
        }
        lock (_subscribersGate)
        {
            foreach (Channel<TelehealthEvent> channel in _subscribers)
            {
                channel.Writer.TryComplete();
            }
        }

        _stopping.Dispose();
    }

    /// <summary>Stops background work synchronously; prefer <see cref="DisposeAsync"/>. Exists so that containers disposed synchronously can own the client.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Names the user, role and device only.</summary>
    /// <returns>For example <c>TelehealthClient { User = u1, Role = Patient, Device = d1 }</c>.</returns>
    public override string ToString() => $"TelehealthClient {{ User = {User}, Role = {Role}, Device = {_device} }}";

    // ---------------------------------------------------------------- opening

    internal async Task<LocalData> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Task open;
        lock (_openGate)
        {
            open = _open ??= OpenCoreAsync();
        }

        await open.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _data!;
    }

    internal async Task<(LocalData Data, IRelayDirectory Directory)> OpenConnectedAsync(CancellationToken cancellationToken)
    {
        LocalData data = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return (data, _directory!);
    }

    internal SecureMessenger Messenger => _messenger ?? throw new InvalidOperationException("The device is not open.");

    internal AuditLog Audit => _audit ?? throw new InvalidOperationException("The device is not open.");

    internal ConsentLedger Consents => _consents ?? throw new InvalidOperationException("The device is not open.");

    /// <summary>Appends to the device's audit log: ids, an action and a code only.</summary>
    internal async Task AuditAsync(AuditAction action, IEnumerable<AuditSubject> subjects, AuditCode? code = null, AuditOutcome outcome = AuditOutcome.Success, CancellationToken cancellationToken = default)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        await _audit!.AppendAsync(new AuditEntry(action, _options.User, subjects, outcome, code), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies <see cref="TelehealthClientOptions.SensitiveIdentifiers"/> to outgoing text; returns the text to send.</summary>
    internal string ApplySensitiveIdentifierPolicy(string text)
    {
        if (_options.SensitiveIdentifiers is not SensitiveIdentifierPolicy policy)
        {
            return text;
        }

        SensitiveTextResult result = policy.Apply(text);
        ReportSensitiveIdentifiers(result.Matches.Count);
        return result.Text;
    }

    internal void ReportSensitiveIdentifiers(int count)
    {
        if (count > 0)
        {
            ClientLog.SensitiveIdentifiersFound(_logger, count, _options.SensitiveIdentifiers!.Mode);
        }
    }

    /// <summary>Crypto-shreds a conversation's local data and audits it.</summary>
    internal async Task EraseConversationAsync(ConversationId id, AuditAction action, CancellationToken cancellationToken)
    {
        LocalData data = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await data.LockedAsync(() => data.EraseConversationAsync(id, cancellationToken), cancellationToken).ConfigureAwait(false);
        await AuditAsync(action, [AuditSubject.Of(id)], cancellationToken: cancellationToken).ConfigureAwait(false);
        ClientLog.ConversationErased(_logger, id.Value);
    }

    private async Task OpenCoreAsync()
    {
        CancellationToken ct = _stopping.Token;
        IDeviceStore store = _options.Store!;
        var data = new LocalData(store.Data);
        DeviceId device;
        if (_options.Device is DeviceId configured)
        {
            device = configured;
        }
        else if (await data.GetTextAsync("device-id", ct).ConfigureAwait(false) is string stored)
        {
            device = new DeviceId(stored);
        }
        else
        {
            device = DeviceId.New();
            await data.SetTextAsync("device-id", device.Value, ct).ConfigureAwait(false);
        }

        SecureMessenger messenger = await SecureMessenger.LoadOrCreateAsync(_options.User, device, store.Keys, store.Sessions, new SecureMessengerOptions(), _time, ct).ConfigureAwait(false);
        var transportOptions = new RelayTransportOptions
        {
            Endpoint = _options.RelayEndpoint,
            Device = device,
            RequestSigner = messenger.SignRequest,
            TimeProvider = _time,
        };
        _device = device;
        _messenger = messenger;
        _data = data;
        _audit = new AuditLog(store.Data, device, new AuditSigner(messenger.Identity.SigningKey.ToArray(), messenger.SignRequest), _time);
        _consents = new ConsentLedger(store.Data, _time, _audit);
        _directory = RelayDirectory.Create(transportOptions, _options.User, _httpClientFactory);
        ClientLog.DeviceOpened(_logger, device.Value, _options.Role);
        _background = Task.Run(() => RunAsync(transportOptions, ct), CancellationToken.None);
    }

    private async Task RunAsync(RelayTransportOptions transportOptions, CancellationToken ct)
    {
        if (!await SetUpRelayAsync(ct).ConfigureAwait(false))
        {
            return;
        }

        // Created once the device is registered: the in-memory relay opens a mailbox at registration.
        try
        {
            _transport = RelayTransport.Create(transportOptions, _httpClientFactory);
        }
        catch (Exception ex)
        {
            _ready.TrySetException(ex);
            throw;
        }

        _transport.StateChanged += (_, e) => Publish(new ConnectionStateChangedEvent(e.Current) { OccurredAt = _time.GetUtcNow() });
        _ready.TrySetResult();
        ClientLog.Connected(_logger);
        try
        {
            await Compliance.ApplyRetentionAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
        {
            // Retention runs again at the next start or when the app calls it; it must not keep the loops from starting.
            ClientLog.RetentionFailed(_logger, ErrorCodeOf(ex));
        }

        await Task.WhenAll(ReceiveLoopAsync(ct), OutboxLoopAsync(ct)).ConfigureAwait(false);
    }

    private async Task<bool> SetUpRelayAsync(CancellationToken ct)
    {
        var backoff = new RetryDelay(_options.OutboxBaseRetryDelay, _options.OutboxMaxRetryDelay);
        while (true)
        {
            try
            {
                await _directory!.RegisterAsync(_messenger!.Identity, ct).ConfigureAwait(false);
                bool changed = await _messenger.RefreshKeysAsync(ct).ConfigureAwait(false);
                PublishedKeysRecord? published = await _data!.GetPublishedAsync(ct).ConfigureAwait(false);
                bool firstPublication = published is null;
                DeviceKeyPublication publication = _messenger.KeyPublication(published?.MaxOneTimePrekeyId ?? 0);
                if (published is null || changed || publication.OneTimePrekeys.Count > 0
                    || published.EnvelopeKeyId != publication.EnvelopeKey.Id || published.SignedPrekeyId != publication.SignedPrekey.Id
                    || published.LastResortPrekeyId != publication.LastResortKemPrekey.Id)
                {
                    await _directory.PublishKeysAsync(publication, ct).ConfigureAwait(false);
                    uint maxOneTime = publication.OneTimePrekeys.Count == 0 ? published?.MaxOneTimePrekeyId ?? 0 : publication.OneTimePrekeys.Max(p => p.Id);
                    published = new PublishedKeysRecord
                    {
                        EnvelopeKeyId = publication.EnvelopeKey.Id,
                        SignedPrekeyId = publication.SignedPrekey.Id,
                        LastResortPrekeyId = publication.LastResortKemPrekey.Id,
                        MaxOneTimePrekeyId = maxOneTime,
                        Clinic = published?.Clinic,
                    };
                    await _data.SetPublishedAsync(published, ct).ConfigureAwait(false);
                    ClientLog.KeysPublished(_logger, publication.OneTimePrekeys.Count);
                    if (firstPublication)
                    {
                        await _audit!.AppendAsync(new AuditEntry(AuditAction.DeviceRegistered, _options.User, [AuditSubject.Of(_device)]), ct).ConfigureAwait(false);
                    }
                }

                if (_options.Clinic is ClinicId clinic && published.Clinic != clinic.Value)
                {
                    await _directory.JoinClinicAsync(clinic, ct).ConfigureAwait(false);
                    published.Clinic = clinic.Value;
                    await _data.SetPublishedAsync(published, ct).ConfigureAwait(false);
                    ClientLog.JoinedClinic(_logger, clinic.Value);
                }

                return true;
            }
            catch (Exception ex) when (IsTransient(ex) && !ct.IsCancellationRequested)
            {
                TimeSpan delay = backoff.Next();
                ClientLog.SetupRetry(_logger, ErrorCodeOf(ex), delay);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // A refusal (for example a device id registered with other keys) cannot heal by retrying: every call
                // that needs the relay fails with it.
                _ready.TrySetException(ex);
                return false;
            }
        }
    }

    // ---------------------------------------------------------------- events

    internal void Publish(TelehealthEvent item)
    {
        lock (_subscribersGate)
        {
            foreach (Channel<TelehealthEvent> channel in _subscribers)
            {
                channel.Writer.TryWrite(item);
            }
        }

        EventReceived?.Invoke(this, item);
        switch (item)
        {
            case MessageReceivedEvent e: MessageReceived?.Invoke(this, e); break;
            case MessageStatusChangedEvent e: MessageStatusChanged?.Invoke(this, e); break;
            case IntakeReceivedEvent e: IntakeReceived?.Invoke(this, e); break;
            case WorkItemClaimedEvent e: WorkItemClaimed?.Invoke(this, e); break;
            case CallbackChangedEvent e: CallbackChanged?.Invoke(this, e); break;
            case ConnectionStateChangedEvent e: ConnectionStateChanged?.Invoke(this, e); break;
        }
    }

    // ---------------------------------------------------------------- errors

    internal static bool IsTransient(Exception ex) => ex switch
    {
        TelehealthException t => t.IsTransient,
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };

    internal static TelehealthErrorCode ErrorCodeOf(Exception ex) => ex switch
    {
        TelehealthException t => t.ErrorCode,
        HttpRequestException or IOException or TimeoutException => TelehealthErrorCode.RelayUnavailable,
        _ => TelehealthErrorCode.Unknown,
    };

    internal static CallbackRequest ThrowIfNull(CallbackRequest? request) =>
        request ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "No callback request with that id is known to this device.");
}

/// <summary>An attempt counter over <see cref="ReconnectBackoff"/> (full jitter, capped); <see cref="Reset"/> after a success.</summary>
internal sealed class RetryDelay(TimeSpan baseDelay, TimeSpan maxDelay)
{
    private int _attempt;

    // At least 1 ms, so a retry loop never spins on a zero delay.
    public TimeSpan Next()
    {
        TimeSpan delay = ReconnectBackoff.Next(_attempt++, baseDelay, maxDelay, Random.Shared);
        return delay < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : delay;
    }

    public void Reset() => _attempt = 0;

    /// <summary>The delay before attempt number <paramref name="attempt"/> (1 for the first retry).</summary>
    public TimeSpan NextFor(int attempt)
    {
        _attempt = Math.Max(0, attempt - 1);
        return Next();
    }
}
