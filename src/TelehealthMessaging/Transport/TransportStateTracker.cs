namespace TelehealthMessaging.Transport;

// The state every transport exposes, and its change event, kept one way: a transition to the same state or out of
// Closed is ignored, and the event is raised outside the lock so handlers may call back into the transport.
internal sealed class TransportStateTracker(object sender)
{
    private readonly object _gate = new();
    private TransportState _state = TransportState.Disconnected;

    public event EventHandler<TransportStateChangedEventArgs>? Changed;

    public TransportState Current
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public void Set(TransportState next, Exception? error = null)
    {
        TransportState previous;
        lock (_gate)
        {
            previous = _state;
            if (previous == next || previous == TransportState.Closed)
            {
                return;
            }

            _state = next;
        }

        Changed?.Invoke(sender, new TransportStateChangedEventArgs(previous, next, error));
    }
}
