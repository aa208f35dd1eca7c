using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Storage;

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
        OneTimePrekeyRefillThreshold = 1,
        KemOneTimePrekeyBatchSize = 12,
        KemOneTimePrekeyRefillThreshold = 1,
    };

    private readonly HashSet<uint> _handedOut = [];

    private EnvelopeTestDevice(UserId user, DeviceId device, IKeyStore keys, ISessionStore sessions, FakeTimeProvider time)
    {
        User = user;
        Device = device;
        Keys = keys;
        Sessions = sessions;
        Time = time;
    }

    public UserId User { get; }

    public DeviceId Device { get; }

    public IKeyStore Keys { get; private set; }

    public ISessionStore Sessions { get; private set; }

    public FakeTimeProvider Time { get; }

    public SecureMessenger Messenger { get; private set; } = null!;

    public static SecureMessengerOptions Options => new() { Prekeys = TestPrekeys };

    public static async Task<EnvelopeTestDevice> CreateAsync(string user, string device, FakeTimeProvider time)
    {
        var created = new EnvelopeTestDevice(new UserId(user), new DeviceId(device), new InMemoryKeyStore(), new InMemorySessionStore(), time);
        await created.RestartAsync();
        return created;
    }

    /// <summary>Opens a fresh messenger over the same stores, as after a process restart.</summary>
    public async Task RestartAsync(IKeyStore? keys = null, ISessionStore? sessions = null)
    {
        Messenger?.Dispose();
        Keys = keys ?? Keys;
        Sessions = sessions ?? Sessions;
        Messenger = await SecureMessenger.LoadOrCreateAsync(User, Device, Keys, Sessions, Options, Time);
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

    public void Dispose() => Messenger?.Dispose();

    public override string ToString() => $"EnvelopeTestDevice({Device})";
}
