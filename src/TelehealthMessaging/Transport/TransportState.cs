namespace TelehealthMessaging.Transport;

/// <summary>The connection state of an <see cref="IRelayTransport"/>.</summary>
public enum TransportState
{
    /// <summary>Not connected and not trying to connect (the state before first use).</summary>
    Disconnected = 0,

    /// <summary>Opening the first connection.</summary>
    Connecting = 1,

    /// <summary>Connected; calls reach the relay.</summary>
    Connected = 2,

    /// <summary>The connection was lost; the transport is trying again with backoff.</summary>
    Reconnecting = 3,

    /// <summary>Disposed; no further calls succeed.</summary>
    Closed = 4,
}

/// <summary>Describes a change of <see cref="IRelayTransport.State"/>.</summary>
public sealed class TransportStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="previous">The state before the change.</param>
    /// <param name="current">The state after the change.</param>
    /// <param name="error">What caused a loss of connection, if anything; its message carries no envelope bytes.</param>
    public TransportStateChangedEventArgs(TransportState previous, TransportState current, Exception? error = null)
    {
        Previous = previous;
        Current = current;
        Error = error;
    }

    /// <summary>The state before the change.</summary>
    public TransportState Previous { get; }

    /// <summary>The state after the change.</summary>
    public TransportState Current { get; }

    /// <summary>What caused a loss of connection, if anything.</summary>
    public Exception? Error { get; }
}
