using System.Security.Cryptography;
using TelehealthMessaging.Relay.Storage;

namespace TelehealthMessaging.Relay.Tests.Infrastructure;

/// <summary>Devices registered straight into a store, for tests of the store itself.</summary>
internal static class StoreDevices
{
    /// <summary>Registers <paramref name="count"/> devices of new users (keys are random bytes: the store does not check them).</summary>
    public static async Task<DeviceId[]> RegisterAsync(IRelayStore store, int count)
    {
        var devices = new DeviceId[count];
        for (int i = 0; i < count; i++)
        {
            devices[i] = DeviceId.New();
            var device = new RelayDevice(UserId.New(), devices[i], RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(64));
            Assert.Equal(DeviceRegistrationOutcome.Created, await store.RegisterDeviceAsync(device, CancellationToken.None));
        }

        return devices;
    }
}
