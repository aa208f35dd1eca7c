namespace TelehealthMessaging.Storage;

/// <summary>Options for <see cref="EncryptedFileStore"/>; read once, when the store is opened.</summary>
public sealed class EncryptedFileStoreOptions
{
    /// <summary>The longest idle lock timeout accepted: one day.</summary>
    internal static readonly TimeSpan MaxIdleLockTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// How long the store may go without a call before it locks itself and zeroes its keys (automatic logoff, as the
    /// HIPAA Security Rule's §164.312(a)(2)(iii) asks for). Default <see langword="null"/>: never; apps holding health
    /// data should set it (for example 15 minutes) and call <see cref="EncryptedFileStore.UnlockAsync"/> when the user
    /// comes back. More than zero and at most one day.
    /// </summary>
    public TimeSpan? IdleLockTimeout { get; set; }

    /// <summary>The clock behind the idle lock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Returns the idle lock timeout; nothing here is secret.</summary>
    /// <returns>A description of the options.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"EncryptedFileStoreOptions(IdleLockTimeout={IdleLockTimeout?.ToString() ?? "none"})");

    internal void Validate()
    {
        if (IdleLockTimeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxIdleLockTimeout))
        {
            throw new ArgumentOutOfRangeException(nameof(IdleLockTimeout), timeout, "The idle lock timeout must be more than zero and at most one day.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentNullException(nameof(TimeProvider), "The options need a time provider.");
        }
    }
}
