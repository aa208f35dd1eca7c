using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

/// <summary>
/// Wraps a device's stores and simulates the process dying at a chosen write: once armed, the n-th next write throws
/// before it reaches the store, as if power failed just then.
/// </summary>
internal sealed class CrashSwitch
{
    private int _writesLeft = -1;

    public void Arm(int writesBeforeCrash) => _writesLeft = writesBeforeCrash;

    public void Disarm() => _writesLeft = -1;

    public void BeforeWrite()
    {
        if (_writesLeft == 0)
        {
            _writesLeft = -1;
            throw new IOException("Simulated crash before a store write.");
        }

        if (_writesLeft > 0)
        {
            _writesLeft--;
        }
    }
}

internal sealed class CrashingSessionStore(ISessionStore inner, CrashSwitch crash) : ISessionStore
{
    public ValueTask<byte[]?> LoadAsync(DeviceId peer, CancellationToken cancellationToken = default) => inner.LoadAsync(peer, cancellationToken);

    public ValueTask StoreAsync(DeviceId peer, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default)
    {
        crash.BeforeWrite();
        return inner.StoreAsync(peer, state, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        crash.BeforeWrite();
        return inner.DeleteAsync(peer, cancellationToken);
    }

    public Task<IReadOnlyList<DeviceId>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}

internal sealed class CrashingKeyStore(IKeyStore inner, CrashSwitch crash) : IKeyStore
{
    public ValueTask<byte[]?> GetAsync(KeyRecordName name, CancellationToken cancellationToken = default) => inner.GetAsync(name, cancellationToken);

    public ValueTask SetAsync(KeyRecordName name, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        crash.BeforeWrite();
        return inner.SetAsync(name, value, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(KeyRecordName name, CancellationToken cancellationToken = default)
    {
        crash.BeforeWrite();
        return inner.DeleteAsync(name, cancellationToken);
    }

    public Task<IReadOnlyList<KeyRecordName>> ListAsync(KeyRecordKind kind, CancellationToken cancellationToken = default) => inner.ListAsync(kind, cancellationToken);
}
