namespace TelehealthMessaging.Crypto;

/// <summary>
/// One device to seal a message to: who it belongs to, its identity and envelope key as published in the directory,
/// and a prekey bundle for when no session exists yet.
/// </summary>
internal sealed class EnvelopeRecipient
{
    public EnvelopeRecipient(UserId user, DeviceId device, IdentityKey identity, SignedEnvelopeKey envelopeKey, PrekeyBundle? bundle = null)
    {
        if (user.Value is null || device.Value is null)
        {
            throw new ArgumentException("The user and device ids must be set.", user.Value is null ? nameof(user) : nameof(device));
        }

        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(envelopeKey);
        User = user;
        Device = device;
        Identity = identity;
        EnvelopeKey = envelopeKey;
        Bundle = bundle;
    }

    public UserId User { get; }

    public DeviceId Device { get; }

    /// <summary>The identity the directory lists for the device; sealing refuses a session or bundle with another one.</summary>
    public IdentityKey Identity { get; }

    /// <summary>The device's current envelope key; must be signed by <see cref="Identity"/> for <see cref="Device"/>.</summary>
    public SignedEnvelopeKey EnvelopeKey { get; }

    /// <summary>Used only when this device has no session with the recipient yet; verified before use.</summary>
    public PrekeyBundle? Bundle { get; }

    public override string ToString() => $"EnvelopeRecipient({User}, {Device}, {Identity})";
}

/// <summary>One sealed envelope produced by <see cref="SecureMessenger.SealAsync"/>, with the device it goes to.</summary>
internal sealed class OutgoingEnvelope(UserId recipientUser, DeviceId recipientDevice, byte[] envelope)
{
    public UserId RecipientUser { get; } = recipientUser;

    public DeviceId RecipientDevice { get; } = recipientDevice;

    /// <summary>The encoded envelope to hand to the relay.</summary>
    public byte[] Envelope { get; } = envelope;

    public override string ToString() => $"OutgoingEnvelope({RecipientUser}, {RecipientDevice}, {Envelope.Length} bytes)";
}

/// <summary>What <see cref="SecureMessenger.OpenAsync"/> recovered from an envelope.</summary>
internal sealed class OpenedEnvelope(UserId senderUser, DeviceId senderDevice, IdentityKey senderIdentity, byte[] plaintext, bool isFromOwnDevice, bool isFirstContact)
{
    public UserId SenderUser { get; } = senderUser;

    public DeviceId SenderDevice { get; } = senderDevice;

    public IdentityKey SenderIdentity { get; } = senderIdentity;

    /// <summary>The message; health data, so it never appears in <see cref="ToString"/>.</summary>
    public byte[] Plaintext { get; } = plaintext;

    /// <summary>The sender is another device of this device's own user: this is a sync copy of a message it sent.</summary>
    public bool IsFromOwnDevice { get; } = isFromOwnDevice;

    /// <summary>
    /// This envelope set up the first session with the sender device, so its identity was pinned on first use: the
    /// caller should check it against the directory (or a verified safety number) before trusting the sender's ids.
    /// </summary>
    public bool IsFirstContact { get; } = isFirstContact;

    public override string ToString() => $"OpenedEnvelope({SenderUser}, {SenderDevice}, {Plaintext.Length} bytes)";
}
