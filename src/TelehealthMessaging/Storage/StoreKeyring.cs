namespace TelehealthMessaging.Storage;

/// <summary>
/// Holds the working keys of an <see cref="EncryptedFileStore"/> while it is unlocked, hands them to calls through
/// <see cref="KeyLease"/>s, and locks the store (zeroing the keys) explicitly, on dispose, or after an idle timeout.
/// </summary>
/// <remarks>
/// <para>
/// The idle lock uses both a timer and a check on every call. The timer zeroes the keys when the timeout passes even
/// if nobody calls again, which is what automatic logoff means. The check catches the case where the timer ran late
/// (a suspended mobile app runs no timers): a call after the timeout is refused whether or not the timer fired.
/// </para>
/// <para>
/// Locking never pulls keys from under a running call: the keys in use are retired at once (new calls are refused)
/// and zeroed when the last call holding a lease on them finishes.
/// </para>
/// </remarks>
internal sealed class StoreKeyring : IDisposable
{
    private readonly object _gate = new();
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan? _idleTimeout;
    private readonly ITimer? _timer;
    private StoreKeys? _current;
    private long _lastActivity;
    private bool _disposed;

    public StoreKeyring(StoreKeys keys, TimeSpan? idleTimeout, TimeProvider timeProvider)
    {
        _current = keys;
        StoreId = (byte[])keys.StoreId.Clone();
        _idleTimeout = idleTimeout;
        _timeProvider = timeProvider;
        _lastActivity = timeProvider.GetTimestamp();
        if (idleTimeout is { } timeout)
        {
            // Created stopped and started once assigned, so the callback never sees a null timer.
            _timer = timeProvider.CreateTimer(static state => ((StoreKeyring)state!).OnIdleTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(timeout, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The id of the store these keys belong to; an unlock must present the same store.</summary>
    public byte[] StoreId { get; }

    public bool IsDisposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    /// <summary><see langword="true"/> when no keys are held: locked, timed out or disposed.</summary>
    public bool IsLocked
    {
        get
        {
            lock (_gate)
            {
                LockIfIdle();
                return _current is null;
            }
        }
    }

    /// <summary>Takes the current keys for one call; dispose the lease when the call ends.</summary>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    /// <exception cref="TelehealthException">With <see cref="TelehealthErrorCode.StoreLocked"/>: the store is locked.</exception>
    public KeyLease Acquire()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(EncryptedFileStore));
            LockIfIdle();
            StoreKeys keys = _current ?? throw new TelehealthException(
                TelehealthErrorCode.StoreLocked,
                "The local store is locked; unlock it with its key protector.");
            keys.Leases++;
            _lastActivity = _timeProvider.GetTimestamp();
            return new KeyLease(this, keys);
        }
    }

    /// <summary>Locks now: new calls are refused and the keys are zeroed once running calls finish. Idempotent.</summary>
    public void Lock()
    {
        lock (_gate)
        {
            RetireCurrent();
        }
    }

    /// <summary>Installs freshly derived keys, replacing (and retiring) any current ones, and restarts the idle clock.</summary>
    public void Unlock(StoreKeys keys)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                keys.Zero();
                ObjectDisposedException.ThrowIf(_disposed, typeof(EncryptedFileStore));
            }

            RetireCurrent();
            _current = keys;
            _lastActivity = _timeProvider.GetTimestamp();
            if (_idleTimeout is { } timeout)
            {
                _timer!.Change(timeout, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Drops an erased scope's cached keys from the current key set (a call may hold an older one).</summary>
    public void ForgetScope(string scope)
    {
        lock (_gate)
        {
            _current?.RemoveScope(scope);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            RetireCurrent();
        }

        _timer?.Dispose();
    }

    public override string ToString() => nameof(StoreKeyring);

    internal void Release(StoreKeys keys)
    {
        lock (_gate)
        {
            keys.Leases--;
            if (ReferenceEquals(keys, _current))
            {
                // A long call counts as activity until it ends.
                _lastActivity = _timeProvider.GetTimestamp();
            }
            else if (keys.Retired && keys.Leases == 0)
            {
                keys.Zero();
            }
        }
    }

    private void OnIdleTimer()
    {
        lock (_gate)
        {
            if (_disposed || _current is null || _idleTimeout is not { } timeout)
            {
                return;
            }

            if (_current.Leases > 0)
            {
                _timer!.Change(timeout, Timeout.InfiniteTimeSpan);
                return;
            }

            TimeSpan idle = _timeProvider.GetElapsedTime(_lastActivity);
            if (idle >= timeout)
            {
                RetireCurrent();
            }
            else
            {
                _timer!.Change(timeout - idle, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Locks when the timeout has passed since the last call, whether or not the timer fired.</summary>
    private void LockIfIdle()
    {
        if (_current is { Leases: 0 } && _idleTimeout is { } timeout && _timeProvider.GetElapsedTime(_lastActivity) >= timeout)
        {
            RetireCurrent();
        }
    }

    private void RetireCurrent()
    {
        if (_current is null)
        {
            return;
        }

        _current.Retired = true;
        if (_current.Leases == 0)
        {
            _current.Zero();
        }

        _current = null;
    }
}

/// <summary>One call's hold on the store's keys: the keys stay whole until it is disposed.</summary>
internal sealed class KeyLease : IDisposable
{
    private readonly StoreKeyring _keyring;
    private int _released;

    public KeyLease(StoreKeyring keyring, StoreKeys keys)
    {
        _keyring = keyring;
        Keys = keys;
    }

    public StoreKeys Keys { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _keyring.Release(Keys);
        }
    }

    public override string ToString() => nameof(KeyLease);
}
