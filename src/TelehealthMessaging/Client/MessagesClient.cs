using System.Runtime.CompilerServices;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging;

/// <summary>Text, attachments and receipts. Reached through <see cref="TelehealthClient.Messages"/>.</summary>
public sealed class MessagesClient
{
    private readonly TelehealthClient _client;

    internal MessagesClient(TelehealthClient client) => _client = client;

    /// <summary>Sends a text message. Returns once it is in the durable outbox; delivery continues in the background.</summary>
    /// <param name="conversation">The conversation (open it first).</param>
    /// <param name="text">1 to 65,536 characters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The message as stored in history, with <see cref="MessageStatus.Pending"/>.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/>: the text holds a resident registration number and the policy refuses it; nothing is sent.</exception>
    public Task<ConversationMessage> SendTextAsync(ConversationId conversation, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);

        // Applied before anything is stored: under Mask the masked text is what is kept and sent.
        string checkedText = _client.ApplySensitiveIdentifierPolicy(text);
        return SendAsync(conversation, new TextContent(checkedText), null, cancellationToken);
    }

    /// <summary>
    /// Encrypts an attachment on this device, uploads the ciphertext to the relay (streamed, with progress), then sends
    /// the reference (key and digest) end-to-end encrypted through the outbox.
    /// </summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="content">The attachment, read to its end.</param>
    /// <param name="mediaType">Its MIME type, for example <c>image/jpeg</c>.</param>
    /// <param name="fileName">The original file name, if any.</param>
    /// <param name="progress">Receives the number of ciphertext bytes uploaded so far.</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is sent then.</param>
    /// <returns>The reference message as stored in history.</returns>
    public async Task<ConversationMessage> SendAttachmentAsync(ConversationId conversation, Stream content, string mediaType, string? fileName = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(mediaType);
        (_, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        await RequireConversationAsync(conversation, cancellationToken).ConfigureAwait(false);

        FileStream ciphertext = TemporaryFile();
        await using ConfiguredAsyncDisposable disposeCiphertext = ciphertext.ConfigureAwait(false);
        AttachmentSecret secret = await AttachmentEncryption.EncryptAsync(content, ciphertext, cancellationToken).ConfigureAwait(false);
        ciphertext.Position = 0;
        string blobId = MessageId.New().Value;
        await directory.UploadBlobAsync(blobId, ciphertext, ciphertext.Length, progress, cancellationToken).ConfigureAwait(false);
        var reference = new AttachmentReferenceContent(blobId, secret.PlaintextLength, mediaType, secret.Digest.Span, secret.Key.Span, fileName);
        return await SendAsync(conversation, reference, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads, verifies and decrypts an attachment into <paramref name="destination"/>.</summary>
    /// <param name="attachment">The reference from a received message.</param>
    /// <param name="destination">Receives the plaintext only after the whole ciphertext verified.</param>
    /// <param name="progress">Receives the number of ciphertext bytes downloaded so far.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>A task that completes once the plaintext is written.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.IntegrityCheckFailed"/>: the stored bytes are not the attachment the reference names; nothing is written.</exception>
    public async Task DownloadAttachmentAsync(AttachmentReferenceContent attachment, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        ArgumentNullException.ThrowIfNull(destination);
        (_, IRelayDirectory directory) = await _client.OpenConnectedAsync(cancellationToken).ConfigureAwait(false);
        FileStream ciphertext = TemporaryFile();
        await using ConfiguredAsyncDisposable disposeCiphertext = ciphertext.ConfigureAwait(false);
        Stream source = await directory.DownloadBlobAsync(attachment.AttachmentId, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            byte[] buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await ciphertext.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                total += read;
                progress?.Report(total);
            }
        }

        var secret = new AttachmentSecret(attachment.Key, attachment.Sha256, attachment.Size, ciphertext.Length);
        ciphertext.Position = 0;
        await AttachmentEncryption.VerifyDigestAsync(ciphertext, secret, cancellationToken).ConfigureAwait(false);
        ciphertext.Position = 0;
        await AttachmentEncryption.DecryptAsync(ciphertext, destination, secret, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Tells the senders that these messages were read (a read receipt through the outbox).</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="messageIds">1 to 500 received messages.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the receipt is in the outbox.</returns>
    public async Task MarkReadAsync(ConversationId conversation, IEnumerable<MessageId> messageIds, CancellationToken cancellationToken = default)
    {
        var receipt = new ReceiptContent(ReceiptKind.Read, messageIds);
        Conversation known = await RequireConversationAsync(conversation, cancellationToken).ConfigureAwait(false);
        SecureMessage message = SecureMessage.Create(conversation, _client.Self, _client.Device, receipt, _client.Time);
        await _client.EnqueueMessageAsync(TelehealthClient.RouteOf(known), message, recordInHistory: false, cancellationToken).ConfigureAwait(false);
        foreach (MessageId[] chunk in receipt.MessageIds.Chunk(7))
        {
            await _client.AuditAsync(AuditAction.MessageRead, [AuditSubject.Of(conversation), .. chunk.Select(AuditSubject.Of)], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A message of the local history, or <see langword="null"/>.</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="messageId">The message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The message with its status, or <see langword="null"/>.</returns>
    public async Task<ConversationMessage?> GetAsync(ConversationId conversation, MessageId messageId, CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.GetMessageAsync(conversation, messageId, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<ConversationMessage> SendAsync(ConversationId conversation, MessageContent content, MessageId? inResponseTo, CancellationToken cancellationToken)
    {
        Conversation known = await RequireConversationAsync(conversation, cancellationToken).ConfigureAwait(false);
        SecureMessage message = SecureMessage.Create(conversation, _client.Self, _client.Device, content, _client.Time, inResponseTo);
        await _client.EnqueueMessageAsync(TelehealthClient.RouteOf(known), message, recordInHistory: true, cancellationToken).ConfigureAwait(false);
        AuditAction action = content is IntakeSubmissionContent ? AuditAction.IntakeSubmitted : AuditAction.MessageSent;
        await _client.AuditAsync(action, [AuditSubject.Of(conversation), AuditSubject.Of(message.Id)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ConversationMessage(message, isOutgoing: true, MessageStatus.Pending, null);
    }

    // Attachments pass through a temporary file so large ones are never held in memory; it deletes itself on close.
    private static FileStream TemporaryFile() =>
        new(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);

    private async Task<Conversation> RequireConversationAsync(ConversationId conversation, CancellationToken cancellationToken)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.GetConversationAsync(conversation, cancellationToken).ConfigureAwait(false)
            ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "The conversation is not known to this device; open it first.");
    }
}
