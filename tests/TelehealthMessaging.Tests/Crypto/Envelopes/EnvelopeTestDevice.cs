using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Tests.Storage;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

/// <summary>
/// One device in an envelope test: its stores, its messenger, and the relay's memory of which one-time prekeys it has
/// already handed out (so no bundle repeats one, as a real relay guarantees).
/// </summary>
internal sealed class EnvelopeTestDevice : IDisposable
{
    public static readonly PrekeyOptions TestPrekeys = new()
    {
        OneTimePrekeyBatchSize = 12,
        OneTimePrekeyRefillThreshold = 6,
        KemOneTimePrekeyBatchSize = 12,
        KemOneTimePrekeyRefillThreshold = 6,
    };

    private readonly HashSet<uint> _handedOut = [];
    private readonly Func<Task<(IKeyStore Keys, ISessionStore Sessions, IDisposable? Owner)>> _openStores;
    private IDisposable? _storeOwner;

    private EnvelopeTestDevice(UserId user, DeviceId device, FakeTimeProvider time, Func<Task<(IKeyStore, ISessionStore, IDisposable?)>> openStores)
    {
        User = user;
        Device = device;
        Time = time;
        _openStores = openStores;
    }

    public UserId User { get; }

    public DeviceId Device { get; }

    public IKeyStore Keys { get; private set; } = null!;

    public ISessionStore Sessions { get; private set; } = null!;

    public FakeTimeProvider Time { get; }

    /// <summary>Makes the n-th next store write fail as a crash would.</summary>
    public CrashSwitch Crash { get; } = new();

    public SecureMessenger Messenger { get; private set; } = null!;

    public static SecureMessengerOptions Options => new() { Prekeys = TestPrekeys };

    /// <summary>A device whose stores live in memory; they survive <see cref="RestartAsync"/>, as files would.</summary>
    public static Task<EnvelopeTestDevice> CreateAsync(string user, string device, FakeTimeProvider time)
    {
        var keys = new InMemoryKeyStore();
        var sessions = new InMemorySessionStore();
        return StartAsync(new EnvelopeTestDevice(new UserId(user), new DeviceId(device), time, () => Task.FromResult<(IKeyStore, ISessionStore, IDisposable?)>((keys, sessions, null))));
    }

    /// <summary>A device whose stores are an <see cref="EncryptedFileStore"/> in <paramref name="folder"/>, reopened on every restart.</summary>
    public static Task<EnvelopeTestDevice> CreateWithFileStoreAsync(string user, string device, FakeTimeProvider time, TempFolder folder) =>
        StartAsync(new EnvelopeTestDevice(new UserId(user), new DeviceId(device), time, async () =>
        {
            EncryptedFileStore store = await StoreFixtures.OpenAsync(folder);
            return (store.Keys, store.Sessions, store);
        }));

    /// <summary>Disposes the messenger and its stores and opens both again, as after a process restart.</summary>
    public async Task RestartAsync()
    {
        Crash.Disarm();
        Messenger?.Dispose();
        _storeOwner?.Dispose();
        (IKeyStore keys, ISessionStore sessions, _storeOwner) = await _openStores();
        Keys = new CrashingKeyStore(keys, Crash);
        Sessions = new CrashingSessionStore(sessions, Crash);
        Messenger = await SecureMessenger.LoadOrCreateAsync(User, Device, Keys, Sessions, Options, Time);

        // As an app does at start: refill one-time prekeys and rotate keys when due.
        await Messenger.RefreshKeysAsync();
    }

    /// <summary>This device as a recipient, with a fresh bundle when <paramref name="sender"/> holds no session with it.</summary>
    public async Task<EnvelopeRecipient> AsRecipientForAsync(EnvelopeTestDevice sender) =>
        new(User, Device, Messenger.Identity, Messenger.CurrentEnvelopeKey, await sender.Sessions.LoadAsync(Device) is null ? NextBundle() : null);

    public PrekeyBundle NextBundle()
    {
        IReadOnlyList<PublicPrekey> oneTime = Messenger.OneTimePrekeys();
        PublicPrekey? x25519 = oneTime.FirstOrDefault(p => p.Kind == PrekeyKind.OneTimeX25519 && !_handedOut.Contains(p.Id));
        PublicPrekey? kem = oneTime.FirstOrDefault(p => p.Kind == PrekeyKind.OneTimeMLKem768 && !_handedOut.Contains(p.Id));
        Assert.NotNull(x25519);
        Assert.NotNull(kem);
        _handedOut.Add(x25519.Id);
        _handedOut.Add(kem.Id);
        return Messenger.CreateBundle(x25519.Id, kem.Id);
    }

    /// <summary>The stored session record with <paramref name="peer"/>, for byte-for-byte comparisons.</summary>
    public async Task<byte[]?> SessionBytesAsync(EnvelopeTestDevice peer) => await Sessions.LoadAsync(peer.Device);

    public async Task<byte[]?> KeySetBytesAsync() => await Keys.GetAsync(SecureMessenger.KeySetRecord);

    public void Dispose()
    {
        Messenger?.Dispose();
        _storeOwner?.Dispose();
    }

    private static async Task<EnvelopeTestDevice> StartAsync(EnvelopeTestDevice device)
    {
        await device.RestartAsync();
        return device;
    }

    public override string ToString() => $"EnvelopeTestDevice({Device})";
}
