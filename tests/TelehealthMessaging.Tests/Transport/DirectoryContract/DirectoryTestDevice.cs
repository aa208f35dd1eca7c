using TelehealthMessaging.Crypto;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport.DirectoryContract;

/// <summary>A device with real keys for directory tests: identity, a few prekeys and an envelope key.</summary>
/// <remarks>Shared with TelehealthMessaging.Relay.Tests (compiled there too), so it uses nothing but the library.</remarks>
internal sealed class DirectoryTestDevice : IDisposable
{
    public static readonly PrekeyOptions FewPrekeys = new()
    {
        OneTimePrekeyBatchSize = 3,
        OneTimePrekeyRefillThreshold = 0,
        KemOneTimePrekeyBatchSize = 2,
        KemOneTimePrekeyRefillThreshold = 0,
    };

    public DirectoryTestDevice(UserId? user = null, DeviceId? device = null, TimeProvider? time = null)
    {
        User = user ?? UserId.New();
        Device = device ?? DeviceId.New();
        TimeProvider clock = time ?? TimeProvider.System;
        Identity = DeviceIdentity.Generate();
        Prekeys = DevicePrekeys.Create(Identity, FewPrekeys, clock);
        EnvelopeKeys = DeviceEnvelopeKeys.Create(Identity, Device, TimeSpan.FromDays(30), TimeSpan.FromDays(14), clock);
    }

    public UserId User { get; }

    public DeviceId Device { get; }

    public DeviceIdentity Identity { get; }

    public DevicePrekeys Prekeys { get; }

    public DeviceEnvelopeKeys EnvelopeKeys { get; }

    public IdentityKey PublicIdentity => Identity.PublicKey;

    /// <summary>Signs relay requests as <see cref="RelayTransportOptions.RequestSigner"/> does.</summary>
    public Func<ReadOnlyMemory<byte>, byte[]> Signer => data => Identity.Sign(data.Span);

    public DeviceKeyPublication Publication() =>
        new(EnvelopeKeys.Current, Prekeys.CurrentSignedPrekey, Prekeys.CurrentLastResortPrekey, Prekeys.OneTimePrekeys.ToList());

    public void Dispose()
    {
        Prekeys.Dispose();
        EnvelopeKeys.Dispose();
        Identity.Dispose();
    }

    public override string ToString() => $"DirectoryTestDevice({User}, {Device})";
}
