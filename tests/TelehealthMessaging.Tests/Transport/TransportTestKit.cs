using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

/// <summary>Envelopes and a deterministic receive pump for the in-memory relay tests.</summary>
internal static class TransportTestKit
{
    /// <summary>A well-formed sealed envelope (version-1 header, random key and ciphertext) for <paramref name="recipient"/>.</summary>
    public static OutgoingEnvelope Envelope(DeviceId recipient, MessageId? id = null, int ciphertextLength = 32)
    {
        byte[] prefix = SealedEnvelopeHeader.WriteVersion1Prefix(recipient);
        byte[] data = new byte[prefix.Length + SealedEnvelopeHeader.EncapsulatedKeySize + ciphertextLength];
        prefix.CopyTo(data, 0);
        RandomNumberGenerator.Fill(data.AsSpan(prefix.Length));
        return new OutgoingEnvelope(id ?? MessageId.New(), recipient, data);
    }

    /// <summary>
    /// Pulls from <paramref name="stream"/> until <paramref name="done"/> says so. When the stream has nothing ready it
    /// is waiting on a timer (redelivery) or on an arrival; the clock is advanced by <paramref name="step"/> only once
    /// the stream has set a timer, so the test runs on fake time without any real waiting.
    /// </summary>
    public static async Task PumpAsync(IAsyncEnumerator<IncomingEnvelope> stream, TimerCountingTimeProvider time, TimeSpan step, Func<IncomingEnvelope, bool> done, int maxSteps = 1000)
    {
        int steps = 0;
        Task? timerSet = null; // one waiter at a time: an abandoned waiter would swallow a later signal
        while (true)
        {
            Task<bool> next = stream.MoveNextAsync().AsTask();
            while (!next.IsCompleted)
            {
                Assert.True(steps++ < maxSteps, "The stream did not deliver what was expected within the step budget.");
                timerSet ??= time.TimerCreated.WaitAsync();
                if (await Task.WhenAny(next, timerSet).WaitAsync(TimeSpan.FromSeconds(10)) == timerSet)
                {
                    timerSet = null;
                    time.Advance(step);
                }
            }

            Assert.True(await next, "The stream ended.");
            if (done(stream.Current))
            {
                return;
            }
        }
    }

    /// <summary>Asserts that the stream has nothing ready, then ends it through <paramref name="cancel"/> so that it can be disposed.</summary>
    public static async Task AssertNothingReadyAndStopAsync(IAsyncEnumerator<IncomingEnvelope> stream, CancellationTokenSource cancel)
    {
        Task<bool> next = stream.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted, "The stream delivered more than expected.");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
    }

    /// <summary>Takes exactly <paramref name="count"/> envelopes that are ready now, failing if the stream would wait.</summary>
    public static async Task<List<IncomingEnvelope>> TakeReadyAsync(IAsyncEnumerator<IncomingEnvelope> stream, int count)
    {
        var taken = new List<IncomingEnvelope>();
        for (int i = 0; i < count; i++)
        {
            ValueTask<bool> next = stream.MoveNextAsync();
            Assert.True(next.IsCompleted, $"Only {taken.Count} envelopes were ready; expected {count}.");
            Assert.True(await next);
            taken.Add(stream.Current);
        }

        return taken;
    }
}

/// <summary>A fake clock that counts the timers code under test creates, so a test can advance it exactly when something waits.</summary>
internal sealed class TimerCountingTimeProvider : FakeTimeProvider
{
    public SemaphoreSlim TimerCreated { get; } = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        TimerCreated.Release();
        return timer;
    }
}
