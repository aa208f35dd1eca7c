namespace TelehealthMessaging.LoadTest;

/// <summary>Ends a target's receive loops at the end of a run.</summary>
internal static class ReceiveLoops
{
    /// <summary>Waits up to 10 s for the loops; a loop's failure is reported, not thrown.</summary>
    public static async Task EndAsync(IEnumerable<Task> loops)
    {
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A receive loop's failure at shutdown must not keep the server process alive.
        catch (Exception error)
#pragma warning restore CA1031
        {
            // A loop that failed mid-run has already shown in the results as undelivered envelopes; say why.
            await Console.Error.WriteLineAsync($"A receive loop ended with {error.GetType().Name}: {error.Message}").ConfigureAwait(false);
        }
    }
}
