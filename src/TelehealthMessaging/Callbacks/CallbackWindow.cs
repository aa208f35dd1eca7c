namespace TelehealthMessaging.Callbacks;

/// <summary>A span of time in which a call may take place; the offsets keep the patient's local time.</summary>
public readonly record struct CallbackWindow
{
    /// <summary>Creates a window.</summary>
    /// <param name="start">When the window opens.</param>
    /// <param name="end">When the window closes; later than <paramref name="start"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="end"/> is not later than <paramref name="start"/>.</exception>
    public CallbackWindow(DateTimeOffset start, DateTimeOffset end)
    {
        if (end <= start)
        {
            throw new ArgumentException("A callback window must end after it starts.", nameof(end));
        }

        Start = start;
        End = end;
    }

    /// <summary>When the window opens.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>When the window closes.</summary>
    public DateTimeOffset End { get; }

    // default(CallbackWindow) has Start == End; every constructed window has Start < End.
    internal bool IsSpecified => Start < End;

    /// <summary>Whether a call can still take place in this window at <paramref name="now"/>: it has not closed yet.</summary>
    /// <param name="now">The current time.</param>
    /// <returns><see langword="true"/> while <paramref name="now"/> is before <see cref="End"/>.</returns>
    public bool IsOpenAfter(DateTimeOffset now) => End > now;
}
