namespace TelehealthMessaging.Client.Tests.Infrastructure;

/// <summary>Records a client's events from creation on, so a test can wait for one that may already have happened.</summary>
public sealed class EventRecorder
{
    private readonly List<TelehealthEvent> _events = [];
    private readonly List<(Func<TelehealthEvent, bool> Match, TaskCompletionSource<TelehealthEvent> Done)> _waiters = [];

    public EventRecorder(TelehealthClient client) => client.EventReceived += (_, e) => Add(e);

    public IReadOnlyList<TelehealthEvent> Events
    {
        get
        {
            lock (_events)
            {
                return _events.ToList();
            }
        }
    }

    /// <summary>Waits (without polling) for the first event of type <typeparamref name="T"/> that matches.</summary>
    public async Task<T> WaitAsync<T>(Func<T, bool>? match = null, TimeSpan? timeout = null)
        where T : TelehealthEvent
    {
        Func<TelehealthEvent, bool> predicate = e => e is T t && (match is null || match(t));
        TaskCompletionSource<TelehealthEvent> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_events)
        {
            TelehealthEvent? seen = _events.FirstOrDefault(predicate);
            if (seen is not null)
            {
                return (T)seen;
            }

            _waiters.Add((predicate, done));
        }

        try
        {
            return (T)await done.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No {typeof(T).Name} matched; seen: {string.Join(", ", Events.Select(e => e.GetType().Name))}");
        }
    }

    private void Add(TelehealthEvent item)
    {
        lock (_events)
        {
            _events.Add(item);
            foreach ((Func<TelehealthEvent, bool> match, TaskCompletionSource<TelehealthEvent> done) in _waiters.ToList())
            {
                if (match(item))
                {
                    _waiters.Remove((match, done));
                    done.TrySetResult(item);
                }
            }
        }
    }
}
