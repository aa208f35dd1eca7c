namespace TelehealthMessaging.Storage;

/// <summary>Limits every store enforces alike, so code that works with the in-memory store works with the file store.</summary>
internal static class StoreLimits
{
    /// <summary>The largest value a record may hold: far above any session state, and a bound on reading untrusted files.</summary>
    public const int MaxValueLength = 16 * 1024 * 1024;

    public static void CheckValueLength(int length, string parameterName = "value")
    {
        if (length > MaxValueLength)
        {
            throw new ArgumentException($"A stored value may be at most {MaxValueLength} bytes.", parameterName);
        }
    }

    public static void CheckPeer(DeviceId peer, string parameterName)
    {
        if (peer.Value is null)
        {
            throw new ArgumentException("The device id is empty; create it with the DeviceId constructor.", parameterName);
        }
    }
}
