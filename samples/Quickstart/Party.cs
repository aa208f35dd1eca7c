using Microsoft.Extensions.DependencyInjection;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Quickstart;

/// <summary>One person's device in the story: a <see cref="TelehealthClient"/>, a name for the transcript, and the events it saw.</summary>
internal sealed class Party : IAsyncDisposable
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);
    private readonly List<TelehealthEvent> _seen = [];
    private readonly List<(Func<TelehealthEvent, bool> Match, TaskCompletionSource<TelehealthEvent> Done)> _waiting = [];

    private readonly ServiceProvider _services;

    private Party(ServiceProvider services, TelehealthClient client, string deviceName)
    {
        _services = services;
        Client = client;
        DeviceName = deviceName;
        client.EventReceived += (_, e) => Record(e);
    }

    public TelehealthClient Client { get; }

    public string DeviceName { get; }

    /// <summary>For the transcript: who, on which device.</summary>
    public string Label => $"{Client.User} @ {DeviceName}";

    /// <summary>
    /// Registers the client the way an app does, with <c>AddTelehealthMessaging</c>: the registration also supplies
    /// the HTTP client (with the standard resilience pipeline) that the relay connection uses.
    /// </summary>
    public static Party Create(Uri relay, UserId user, ParticipantRole role, string deviceName, ClinicId? clinic = null)
    {
        var services = new ServiceCollection();
        services.AddTelehealthMessaging(options =>
            {
                options.User = user;
                options.Role = role;
                options.Clinic = clinic;
                options.RedFlags = new RedFlagOptions { Region = EmergencyRegion.Korea };
            })
            .UseRelay(relay)
            // Apps keep keys and history in an EncryptedFileStore; the quickstart's devices live for one run.
            .UseStore(new InMemoryDeviceStore());
        ServiceProvider provider = services.BuildServiceProvider();
        return new Party(provider, provider.GetRequiredService<TelehealthClient>(), deviceName);
    }

    /// <summary>Waits for an event this device saw (or will see) that matches; the story never sleeps.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match)
        where T : TelehealthEvent
    {
        Func<TelehealthEvent, bool> predicate = e => e is T t && match(t);
        var done = new TaskCompletionSource<TelehealthEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_seen)
        {
            if (_seen.FirstOrDefault(predicate) is TelehealthEvent earlier)
            {
                return (T)earlier;
            }

            _waiting.Add((predicate, done));
        }

        try
        {
            return (T)await done.Task.WaitAsync(WaitLimit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Label} did not see the expected {typeof(T).Name} within {WaitLimit.TotalSeconds} s.");
        }
    }

    /// <summary>Disposes the container, and with it the client.</summary>
    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private void Record(TelehealthEvent item)
    {
        lock (_seen)
        {
            _seen.Add(item);
            foreach ((Func<TelehealthEvent, bool> match, TaskCompletionSource<TelehealthEvent> done) waiter in _waiting.ToList())
            {
                if (waiter.match(item))
                {
                    _waiting.Remove(waiter);
                    waiter.done.TrySetResult(item);
                }
            }
        }
    }
}
