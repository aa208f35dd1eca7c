namespace TelehealthMessaging.Transport;

/// <summary>
/// Moves sealed envelopes between one device and the relay. Small on purpose: an implementation sends batches,
/// streams the own mailbox, acknowledges, and reports its connection state.
/// </summary>
/// <remarks>
/// Delivery below this contract is at-least-once: an envelope may arrive more than once (after a reconnect, a
/// resubmission or a redelivery) and in any order across reconnects, but an envelope stays stored until it is
/// acknowledged, so none is lost. Deduplicate by <see cref="IncomingEnvelope.Id"/> above it (see
/// <see cref="DuplicateMessageFilter"/>) for exactly-once processing. Errors are <see cref="TelehealthException"/>s:
/// <see cref="TelehealthException.IsTransient"/> is <see langword="true"/> when retrying can help; a refusal by the relay
/// is a <see cref="RelayRequestException"/>.
/// </remarks>
public interface IRelayTransport : IAsyncDisposable
{
    /// <summary>The current connection state.</summary>
    TransportState State { get; }

    /// <summary>Raised after <see cref="State"/> changes. Handlers run on the transport's thread and must not block.</summary>
    event EventHandler<TransportStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Stores a batch of envelopes in their recipients' mailboxes, atomically. Idempotent: an id already stored or
    /// recently acknowledged for the same recipient is accepted again without storing anything, so a batch whose
    /// answer was lost can be sent again.
    /// </summary>
    /// <param name="batch">1 to 100 envelopes.</param>
    /// <param name="cancellationToken">Cancels the call; the batch may or may not have been stored.</param>
    /// <returns>A task that completes once the relay has stored the batch.</returns>
    Task SendAsync(IReadOnlyList<OutgoingEnvelope> batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the own mailbox: every pending envelope after <paramref name="after"/>, then each new one as it
    /// arrives, until cancelled. Envelopes stay stored until <see cref="AcknowledgeAsync"/>.
    /// </summary>
    /// <param name="after">The last cursor already processed, or <see langword="null"/> for the start.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The envelopes, possibly with duplicates.</returns>
    IAsyncEnumerable<IncomingEnvelope> ReceiveAsync(RelayCursor? after, CancellationToken cancellationToken = default);

    /// <summary>Deletes processed envelopes from the own mailbox. Idempotent: unknown ids are ignored.</summary>
    /// <param name="ids">1 to 100 ids.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the relay has deleted them.</returns>
    Task AcknowledgeAsync(IReadOnlyList<MessageId> ids, CancellationToken cancellationToken = default);
}
