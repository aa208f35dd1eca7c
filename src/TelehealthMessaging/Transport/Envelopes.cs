namespace TelehealthMessaging.Transport;

/// <summary>A sealed envelope on its way to the relay: opaque bytes plus what the relay routes and deduplicates by.</summary>
/// <remarks><see cref="ToString"/> names the id and recipient only, never the bytes.</remarks>
public sealed class OutgoingEnvelope
{
    /// <summary>Creates an outgoing envelope.</summary>
    /// <param name="id">The sender-chosen id; resubmitting the same id to the same recipient stores nothing new.</param>
    /// <param name="recipient">The device whose mailbox receives it; must match the sealed header.</param>
    /// <param name="data">The sealed envelope bytes (a version-1 header naming <paramref name="recipient"/>, then ciphertext).</param>
    /// <exception cref="ArgumentException"><paramref name="id"/> or <paramref name="recipient"/> is the default value, or <paramref name="data"/> is empty.</exception>
    public OutgoingEnvelope(MessageId id, DeviceId recipient, ReadOnlyMemory<byte> data)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The message id is the default value.", nameof(id));
        }

        if (recipient.Value is null)
        {
            throw new ArgumentException("The recipient is the default value.", nameof(recipient));
        }

        if (data.IsEmpty)
        {
            throw new ArgumentException("The envelope is empty.", nameof(data));
        }

        Id = id;
        Recipient = recipient;
        Data = data;
    }

    /// <summary>The sender-chosen id.</summary>
    public MessageId Id { get; }

    /// <summary>The device whose mailbox receives the envelope.</summary>
    public DeviceId Recipient { get; }

    /// <summary>The sealed envelope bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Names the id, recipient and size; never the bytes.</summary>
    /// <returns>A description free of envelope content.</returns>
    public override string ToString() => $"OutgoingEnvelope {{ Id = {Id}, Recipient = {Recipient}, Length = {Data.Length} }}";
}

/// <summary>A sealed envelope delivered from the own mailbox.</summary>
/// <remarks><see cref="ToString"/> names the id and cursor only, never the bytes.</remarks>
public sealed class IncomingEnvelope
{
    /// <summary>Creates an incoming envelope (transports create these; public so that custom transports and fakes can).</summary>
    /// <param name="cursor">Its position in the mailbox.</param>
    /// <param name="id">The sender-chosen id the receiver deduplicates by.</param>
    /// <param name="data">The sealed envelope bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="id"/> is the default value.</exception>
    public IncomingEnvelope(RelayCursor cursor, MessageId id, ReadOnlyMemory<byte> data)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The message id is the default value.", nameof(id));
        }

        Cursor = cursor;
        Id = id;
        Data = data;
    }

    /// <summary>The envelope's position in the mailbox.</summary>
    public RelayCursor Cursor { get; }

    /// <summary>The sender-chosen id.</summary>
    public MessageId Id { get; }

    /// <summary>The sealed envelope bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Names the id, cursor and size; never the bytes.</summary>
    /// <returns>A description free of envelope content.</returns>
    public override string ToString() => $"IncomingEnvelope {{ Id = {Id}, Cursor = {Cursor}, Length = {Data.Length} }}";
}
