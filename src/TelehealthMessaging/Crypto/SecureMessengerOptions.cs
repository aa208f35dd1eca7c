namespace TelehealthMessaging.Crypto;

/// <summary>Settings of a <see cref="SecureMessenger"/>; copied and validated when the messenger opens.</summary>
internal sealed class SecureMessengerOptions
{
    /// <summary>Ratchet limits for every session. Default: <see cref="RatchetOptions"/>' defaults.</summary>
    public RatchetOptions Ratchet { get; set; } = new();

    /// <summary>Prekey rotation and refill policy. Default: <see cref="PrekeyOptions"/>' defaults.</summary>
    public PrekeyOptions Prekeys { get; set; } = new();

    /// <summary>How long an envelope key is published before a new one replaces it. Default 30 days; at least 1 hour.</summary>
    public TimeSpan EnvelopeKeyRotationInterval { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long a replaced envelope key still opens envelopes, for those sealed to it before the sender saw the new key.
    /// Default 14 days; at least 1 hour.
    /// </summary>
    public TimeSpan EnvelopeKeyGracePeriod { get; set; } = TimeSpan.FromDays(14);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Ratchet, nameof(Ratchet));
        ArgumentNullException.ThrowIfNull(Prekeys, nameof(Prekeys));
        Ratchet.Validate();
        Prekeys.Validate();
        if (EnvelopeKeyRotationInterval < TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(EnvelopeKeyRotationInterval), EnvelopeKeyRotationInterval, "The envelope key rotation interval must be at least 1 hour.");
        }

        if (EnvelopeKeyGracePeriod < TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(EnvelopeKeyGracePeriod), EnvelopeKeyGracePeriod, "The envelope key grace period must be at least 1 hour.");
        }
    }

    internal SecureMessengerOptions Snapshot() => new()
    {
        Ratchet = Ratchet.Snapshot(),
        Prekeys = Prekeys.Snapshot(),
        EnvelopeKeyRotationInterval = EnvelopeKeyRotationInterval,
        EnvelopeKeyGracePeriod = EnvelopeKeyGracePeriod,
    };
}
