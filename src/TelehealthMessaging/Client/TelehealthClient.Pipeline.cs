using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging;

// The two background loops: the outbox (seal and send, in order per conversation, retried with backoff) and the
// receiver (open, check, store, acknowledge; each message reaches the app once).
public sealed partial class TelehealthClient
{
    private const string IntakeCollection = "intakes";
    private const string CallbackCollection = "callbacks";
    // A revoked or departed clinician's device is refused at most this long after the relay stopped listing it.
    private static readonly TimeSpan RosterCacheLifetime = TimeSpan.FromMinutes(1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ClinicId, (DateTimeOffset FetchedAt, IReadOnlyList<DirectoryDevice> Devices)> _rosters = new();
    private TaskCompletionSource _outboxDrained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // ---------------------------------------------------------------- enqueue

    /// <summary>Stores a message in history (when it is one) and in the outbox, then wakes the sender.</summary>
    internal async Task EnqueueMessageAsync(ConversationRoute route, SecureMessage message, bool recordInHistory, CancellationToken cancellationToken)
    {
        LocalData data = await OpenAsync(cancellationToken).ConfigureAwait(false);
        byte[] payload = ClientPayload.ForMessage(route, message).Serialize();
        await data.LockedAsync(
            async () =>
            {
                await data.EnsureConversationAsync(route, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                if (recordInHistory)
                {
                    await data.AppendMessageAsync(message, outgoing: true, MessageStatus.Pending, cancellationToken).ConfigureAwait(false);
                }

                await data.EnqueueAsync(route.Id, payload, recordInHistory ? message.Id : null, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        _outboxSignal.Release();
    }

    internal async Task EnqueueClaimAsync(ConversationRoute route, ClaimNotice claim, CancellationToken cancellationToken)
    {
        LocalData data = await OpenAsync(cancellationToken).ConfigureAwait(false);
        byte[] payload = ClientPayload.ForClaim(route, claim).Serialize();
        await data.LockedAsync(() => data.EnqueueAsync(route.Id, payload, null, _time.GetUtcNow(), cancellationToken), cancellationToken).ConfigureAwait(false);
        _outboxSignal.Release();
    }

    internal async Task<int> PendingOutboxCountAsync(CancellationToken cancellationToken)
    {
        LocalData data = await OpenAsync(cancellationToken).ConfigureAwait(false);
        int count = 0;
        foreach (Conversation conversation in await data.ListConversationsAsync(cancellationToken).ConfigureAwait(false))
        {
            count += await data.CountOutboxAsync(conversation.Id, cancellationToken).ConfigureAwait(false);
        }

        return count;
    }

    // ---------------------------------------------------------------- outbox loop

    private async Task OutboxLoopAsync(CancellationToken ct)
    {
        var failures = new RetryDelay(_options.OutboxBaseRetryDelay, _options.OutboxMaxRetryDelay);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RunOutboxAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
            {
                // A failure outside one item (for example the store locked mid-update): wait and start over, since
                // every step is idempotent and its state is in the store.
                TimeSpan delay = failures.Next();
                ClientLog.ReceiveRetry(_logger, ErrorCodeOf(ex), delay);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task RunOutboxAsync(CancellationToken ct)
    {
        var backoff = new RetryDelay(_options.OutboxBaseRetryDelay, _options.OutboxMaxRetryDelay);
        while (!ct.IsCancellationRequested)
        {
            bool progressed = false;
            DateTimeOffset? nextDue = null;
            IReadOnlyList<Conversation> conversations;
            try
            {
                conversations = await _data!.ListConversationsAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
            {
                // For example a locked store: the outbox waits and tries again rather than stopping for good.
                TimeSpan delay = backoff.Next();
                ClientLog.ReceiveRetry(_logger, ErrorCodeOf(ex), delay);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                continue;
            }

            foreach (Conversation conversation in conversations)
            {
                OutboxRecord? item;
                try
                {
                    item = await _data!.FirstOutboxAsync(conversation.Id, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
                {
                    DateTimeOffset retryAt = _time.GetUtcNow() + backoff.Next();
                    nextDue = nextDue is null || retryAt < nextDue ? retryAt : nextDue;
                    ClientLog.ReceiveRetry(_logger, ErrorCodeOf(ex), retryAt - _time.GetUtcNow());
                    continue;
                }

                if (item is null)
                {
                    continue;
                }

                DateTimeOffset due = DateTimeOffset.FromUnixTimeMilliseconds(item.NextAttemptAt);
                if (due > _time.GetUtcNow())
                {
                    nextDue = nextDue is null || due < nextDue ? due : nextDue;
                    continue;
                }

                try
                {
                    await SendItemAsync(conversation, item, ct).ConfigureAwait(false);
                    backoff.Reset();
                    progressed = true;
                }
                catch (Exception ex) when (IsRetryable(ex) && !ct.IsCancellationRequested)
                {
                    item.Attempts++;
                    TimeSpan delay = new RetryDelay(_options.OutboxBaseRetryDelay, _options.OutboxMaxRetryDelay).NextFor(item.Attempts);
                    item.NextAttemptAt = (_time.GetUtcNow() + delay).ToUnixTimeMilliseconds();
                    await _data.LockedAsync(() => _data.SaveOutboxAsync(conversation.Id, item, ct), ct).ConfigureAwait(false);
                    ClientTelemetry.ItemsRetried.Add(1);
                    ClientLog.ItemRetry(_logger, item.Seq, conversation.Id.Value, ErrorCodeOf(ex), item.Attempts, delay);
                    DateTimeOffset retryAt = _time.GetUtcNow() + delay;
                    nextDue = nextDue is null || retryAt < nextDue ? retryAt : nextDue;
                }
                catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
                {
                    await FailItemAsync(conversation, item, ErrorCodeOf(ex), ct).ConfigureAwait(false);
                    progressed = true;
                }
            }

            if (progressed)
            {
                continue;
            }

            Interlocked.Exchange(ref _outboxDrained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            TimeSpan wait = nextDue is DateTimeOffset at ? Max(at - _time.GetUtcNow(), TimeSpan.FromMilliseconds(1)) : Timeout.InfiniteTimeSpan;
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (wait != Timeout.InfiniteTimeSpan)
            {
                timer.CancelAfter(wait);
            }

            try
            {
                await _outboxSignal.WaitAsync(Timeout.Infinite, timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The earliest retry is due.
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static bool IsRetryable(Exception ex) => IsTransient(ex) || ex is NoRecipientDevicesException;

    private async Task SendItemAsync(Conversation conversation, OutboxRecord item, CancellationToken ct)
    {
        using System.Diagnostics.Activity? activity = ClientTelemetry.ActivitySource.StartActivity("telehealth.outbox.send");
        activity?.SetTag("telehealth.conversation.id", conversation.Id.Value);
        if (item.Sealed is null)
        {
            (List<EnvelopeRecipient> recipients, List<EnvelopeRecipient> own) = await ResolveRecipientsAsync(conversation, ct).ConfigureAwait(false);
            if (recipients.Count == 0 && own.Count == 0)
            {
                throw new NoRecipientDevicesException();
            }

            IReadOnlyList<Crypto.OutgoingEnvelope> sealedEnvelopes = await _messenger!.SealAsync(recipients, item.Payload, own, ct).ConfigureAwait(false);
            item.Sealed = sealedEnvelopes.Select(e => new SealedEnvelopeRecord { Id = MessageId.New().Value, Recipient = e.RecipientDevice.Value, Data = e.Envelope }).ToList();

            // Stored before sending: a resend after a crash repeats the same envelope ids, which the relay accepts once.
            await _data!.LockedAsync(() => _data.SaveOutboxAsync(conversation.Id, item, ct), ct).ConfigureAwait(false);
        }

        foreach (SealedEnvelopeRecord[] chunk in item.Sealed.Chunk(InMemoryRelay.MaxBatchEnvelopes))
        {
            await _transport!.SendAsync(chunk.Select(e => new Transport.OutgoingEnvelope(new MessageId(e.Id), new DeviceId(e.Recipient), e.Data)).ToList(), ct).ConfigureAwait(false);
            foreach (SealedEnvelopeRecord envelope in chunk)
            {
                ClientTelemetry.EnvelopeSize.Record(envelope.Data.Length);
            }
        }

        bool changed = false;
        await _data!.LockedAsync(
            async () =>
            {
                await _data.RemoveOutboxAsync(conversation.Id, item.Seq, ct).ConfigureAwait(false);
                if (item.MessageId is string id)
                {
                    changed = await _data.AdvanceStatusAsync(conversation.Id, new MessageId(id), MessageStatus.Sent, null, ct).ConfigureAwait(false);
                }
            },
            ct).ConfigureAwait(false);
        ClientTelemetry.ItemsSent.Add(1);
        ClientLog.ItemSent(_logger, item.Seq, conversation.Id.Value, item.Sealed.Count);
        if (changed)
        {
            Publish(new MessageStatusChangedEvent(conversation.Id, new MessageId(item.MessageId!), MessageStatus.Sent, null) { OccurredAt = _time.GetUtcNow() });
        }
    }

    private async Task FailItemAsync(Conversation conversation, OutboxRecord item, TelehealthErrorCode code, CancellationToken ct)
    {
        bool changed = false;
        await _data!.LockedAsync(
            async () =>
            {
                await _data.RemoveOutboxAsync(conversation.Id, item.Seq, ct).ConfigureAwait(false);
                if (item.MessageId is string id)
                {
                    changed = await _data.AdvanceStatusAsync(conversation.Id, new MessageId(id), MessageStatus.Failed, code, ct).ConfigureAwait(false);
                }
            },
            ct).ConfigureAwait(false);
        ClientTelemetry.ItemsFailed.Add(1);
        ClientLog.ItemFailed(_logger, item.Seq, conversation.Id.Value, code);
        if (changed)
        {
            Publish(new MessageStatusChangedEvent(conversation.Id, new MessageId(item.MessageId!), MessageStatus.Failed, code) { OccurredAt = _time.GetUtcNow() });
        }
    }

    /// <summary>
    /// Every device the conversation reaches: the clinic's triage devices and the patient's devices (clinic
    /// conversations) or both users' devices (direct), split into other users' devices and this user's other devices.
    /// A device without a session gets a freshly claimed prekey bundle.
    /// </summary>
    private async Task<(List<EnvelopeRecipient> Recipients, List<EnvelopeRecipient> Own)> ResolveRecipientsAsync(Conversation conversation, CancellationToken ct)
    {
        var devices = new List<DirectoryDevice>();
        if (conversation.Kind == ConversationKind.Clinic)
        {
            devices.AddRange(await _directory!.ListClinicDevicesAsync(conversation.Clinic!.Value, ct).ConfigureAwait(false));
            devices.AddRange(await _directory.ListDevicesAsync(conversation.Patient, ct).ConfigureAwait(false));
        }
        else
        {
            devices.AddRange(await _directory!.ListDevicesAsync(conversation.Patient, ct).ConfigureAwait(false));
            devices.AddRange(await _directory.ListDevicesAsync(conversation.Peer!.Value, ct).ConfigureAwait(false));
        }

        if (!devices.Any(d => d.User == _options.User))
        {
            devices.AddRange(await _directory.ListDevicesAsync(_options.User, ct).ConfigureAwait(false));
        }

        var recipients = new List<EnvelopeRecipient>();
        var own = new List<EnvelopeRecipient>();
        var seen = new HashSet<DeviceId> { _device };
        foreach (DirectoryDevice device in devices)
        {
            if (!seen.Add(device.Device))
            {
                continue;
            }

            PrekeyBundle? bundle = null;
            if (!await _messenger!.HasActiveSessionAsync(device.Device, ct).ConfigureAwait(false))
            {
                bundle = (await _directory.ClaimBundleAsync(device.User, device.Device, ct).ConfigureAwait(false)).Bundle;
            }

            var recipient = new EnvelopeRecipient(device.User, device.Device, device.Identity, device.EnvelopeKey, bundle);
            (device.User == _options.User ? own : recipients).Add(recipient);
        }

        return (recipients, own);
    }

    // ---------------------------------------------------------------- receive loop

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var backoff = new RetryDelay(_options.OutboxBaseRetryDelay, _options.OutboxMaxRetryDelay);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                string? stored = await _data!.GetTextAsync("cursor", ct).ConfigureAwait(false);
                RelayCursor? cursor = RelayCursor.TryParse(stored, out RelayCursor parsed) ? parsed : null;
                await foreach (IncomingEnvelope envelope in _transport!.ReceiveAsync(cursor, ct).ConfigureAwait(false))
                {
                    await HandleEnvelopeAsync(envelope, ct).ConfigureAwait(false);
                    await _data.SetTextAsync("cursor", envelope.Cursor.ToString(), ct).ConfigureAwait(false);
                    await _transport.AcknowledgeAsync([envelope.Id], ct).ConfigureAwait(false);
                    backoff.Reset();
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && ex is not OperationCanceledException)
            {
                TimeSpan delay = backoff.Next();
                ClientLog.ReceiveRetry(_logger, ErrorCodeOf(ex), delay);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleEnvelopeAsync(IncomingEnvelope envelope, CancellationToken ct)
    {
        using System.Diagnostics.Activity? activity = ClientTelemetry.ActivitySource.StartActivity("telehealth.envelope.receive");
        activity?.SetTag("telehealth.envelope.id", envelope.Id.Value);
        OpenedEnvelope opened;
        ClientPayload payload;
        try
        {
            opened = await _messenger!.OpenAsync(envelope.Data, ct).ConfigureAwait(false);
            payload = ClientPayload.Parse(opened.Plaintext);
        }
        catch (TelehealthException ex) when (!ex.IsTransient)
        {
            // Forged, corrupted, replayed or not for us: dropped (and acknowledged) so it cannot block the mailbox.
            ClientTelemetry.EnvelopesRejected.Add(1);
            ClientLog.EnvelopeRejected(_logger, envelope.Id.Value, ex.ErrorCode);
            return;
        }

        try
        {
            string? refusal = await CheckSenderAsync(opened, payload, ct).ConfigureAwait(false);
            if (refusal is not null)
            {
                ClientTelemetry.EnvelopesRejected.Add(1);
                ClientLog.MessageRejected(_logger, payload.Message?.Id.Value ?? envelope.Id.Value, refusal);
                return;
            }

            if (payload.Message is SecureMessage message)
            {
                await ProcessMessageAsync(payload.Route, message, ct).ConfigureAwait(false);
            }
            else
            {
                await ProcessClaimAsync(payload.Route, payload.Claim!, ct).ConfigureAwait(false);
            }

            ClientTelemetry.EnvelopesReceived.Add(1);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(opened.Plaintext);
        }
    }

    /// <summary>Who may say what: null when the message is acceptable, else the reason (a fixed phrase) to drop it.</summary>
    private async Task<string?> CheckSenderAsync(OpenedEnvelope opened, ClientPayload payload, CancellationToken ct)
    {
        ConversationRoute route = payload.Route;
        if (payload.Message is SecureMessage message && (message.Sender.Id != opened.SenderUser || message.SenderDevice != opened.SenderDevice))
        {
            return "sender does not match the envelope's certificate";
        }

        if (payload.Claim is ClaimNotice claim && (claim.ClaimedBy != opened.SenderUser || claim.ClaimedByDevice != opened.SenderDevice))
        {
            return "claim does not match the envelope's certificate";
        }

        if (payload.Message?.Content is CallbackTransitionContent transition && transition.Transition.Actor != payload.Message.Sender)
        {
            return "transition actor is not the sender";
        }

        bool selfIsParty = route.Names(_options.User) || (route.Kind == ConversationKind.Clinic && route.Clinic == _options.Clinic);
        if (!selfIsParty)
        {
            return "this user is not a party to the conversation";
        }

        // Clinicians of a clinic conversation (and only they) speak as clinicians and claim work items: they must be
        // on the clinic's roster. The patient, and either user of a direct conversation, are parties by name.
        bool speaksForClinic = route.Kind == ConversationKind.Clinic && (payload.Claim is not null || payload.Message?.Sender.Role == ParticipantRole.Clinician);
        if (speaksForClinic)
        {
            if (route.Patient == opened.SenderUser)
            {
                return "a patient cannot speak for the clinic";
            }

            return await IsOnRosterAsync(route.Clinic!.Value, opened.SenderUser, opened.SenderDevice, ct).ConfigureAwait(false)
                ? null
                : "the sender is not a triage device of the clinic";
        }

        return route.Names(opened.SenderUser) && payload.Claim is null ? null : "the sender is not a party to the conversation";
    }

    /// <summary>Whether a device is on the clinic's roster; the roster is cached and fetched again on a miss, so a new clinician is seen at once.</summary>
    private async Task<bool> IsOnRosterAsync(ClinicId clinic, UserId user, DeviceId device, CancellationToken ct)
    {
        if (_rosters.TryGetValue(clinic, out (DateTimeOffset FetchedAt, IReadOnlyList<DirectoryDevice> Devices) cached)
            && _time.GetUtcNow() - cached.FetchedAt < RosterCacheLifetime
            && cached.Devices.Any(d => d.Device == device && d.User == user))
        {
            return true;
        }

        IReadOnlyList<DirectoryDevice> roster = await _directory!.ListClinicDevicesAsync(clinic, ct).ConfigureAwait(false);
        _rosters[clinic] = (_time.GetUtcNow(), roster);
        return roster.Any(d => d.Device == device && d.User == user);
    }

    private async Task ProcessMessageAsync(ConversationRoute route, SecureMessage message, CancellationToken ct)
    {
        bool outgoing = message.Sender.Id == _options.User;
        var events = new List<TelehealthEvent>();
        bool sendDelivered = false;
        await _data!.LockedAsync(
            async () =>
            {
                if (await _data.IsSeenAsync(message.Id, ct).ConfigureAwait(false))
                {
                    return;
                }

                DateTimeOffset now = _time.GetUtcNow();
                await _data.EnsureConversationAsync(route, now, ct).ConfigureAwait(false);
                switch (message.Content)
                {
                    case ReceiptContent receipt:
                        MessageStatus status = receipt.Kind == ReceiptKind.Read ? MessageStatus.Read : MessageStatus.Delivered;
                        foreach (MessageId id in receipt.MessageIds)
                        {
                            if (!outgoing && await _data.AdvanceStatusAsync(route.Id, id, status, null, ct).ConfigureAwait(false))
                            {
                                events.Add(new MessageStatusChangedEvent(route.Id, id, status, null) { OccurredAt = now });
                            }
                        }

                        break;

                    case CallbackTransitionContent transition:
                        if (await ApplyTransitionAsync(route, message, transition, now, ct).ConfigureAwait(false) is { } changed)
                        {
                            await _data.AppendMessageAsync(message, outgoing, outgoing ? MessageStatus.Sent : MessageStatus.Received, ct).ConfigureAwait(false);
                            events.Add(new MessageReceivedEvent(route.Id, new ConversationMessage(message, outgoing, outgoing ? MessageStatus.Sent : MessageStatus.Received, null)) { OccurredAt = now });
                            events.Add(changed);
                        }

                        break;

                    default:
                        MessageStatus stored = outgoing ? MessageStatus.Sent : MessageStatus.Received;
                        await _data.AppendMessageAsync(message, outgoing, stored, ct).ConfigureAwait(false);
                        events.Add(new MessageReceivedEvent(route.Id, new ConversationMessage(message, outgoing, stored, null)) { OccurredAt = now });
                        if (message.Content is IntakeSubmissionContent intake)
                        {
                            events.Add(await StoreIntakeAsync(route, message, intake, now, ct).ConfigureAwait(false));
                        }
                        else if (message.Content is CallbackRequestContent callback)
                        {
                            await _data.SaveWorkItemAsync(route.Id, CallbackCollection, new WorkItemRecord { ItemId = callback.Request.Id.Value, Patient = route.Patient.Value, ReceivedAt = now.ToUnixTimeMilliseconds(), Message = MessageSerializer.Serialize(message) }, ct).ConfigureAwait(false);
                            events.Add(new CallbackChangedEvent(route.Id, callback.Request) { OccurredAt = now });
                        }

                        sendDelivered = !outgoing;
                        break;
                }

                await _data.MarkSeenAsync(message.Id, ct).ConfigureAwait(false);
            },
            ct).ConfigureAwait(false);

        foreach (TelehealthEvent item in events)
        {
            Publish(item);
        }

        if (sendDelivered)
        {
            SecureMessage receipt = SecureMessage.Create(route.Id, Self, _device, new ReceiptContent(ReceiptKind.Delivered, [message.Id]), _time);
            await EnqueueMessageAsync(route, receipt, recordInHistory: false, ct).ConfigureAwait(false);
        }
    }

    private async Task<IntakeReceivedEvent> StoreIntakeAsync(ConversationRoute route, SecureMessage message, IntakeSubmissionContent intake, DateTimeOffset now, CancellationToken ct)
    {
        var redFlags = new List<string>();
        if (Intake.FindForm(intake.QuestionnaireCanonical) is IntakeForm form)
        {
            try
            {
                IntakeSubmission submission = FhirImport.FromQuestionnaireResponse(intake.QuestionnaireResponseJson, form);
                if (new RedFlagEvaluator(_options.RedFlags).Evaluate(submission.Answers) is EmergencyAdvice advice)
                {
                    redFlags.AddRange(advice.TriggeredRuleIds);
                }
            }
            catch (TelehealthException)
            {
                // Kept as received; reading it as typed answers reports the problem to the clinician.
            }
        }

        WorkItemRecord? existing = await _data!.GetWorkItemAsync(route.Id, IntakeCollection, intake.SubmissionId.Value, ct).ConfigureAwait(false);
        var record = new WorkItemRecord
        {
            ItemId = intake.SubmissionId.Value,
            Patient = route.Patient.Value,
            FormCanonical = intake.QuestionnaireCanonical,
            ReceivedAt = now.ToUnixTimeMilliseconds(),
            RedFlags = redFlags,
            Message = MessageSerializer.Serialize(message),
            ClaimedBy = existing?.ClaimedBy,
            ClaimedByDevice = existing?.ClaimedByDevice,
            ClaimedAt = existing?.ClaimedAt,
        };
        await _data.SaveWorkItemAsync(route.Id, IntakeCollection, record, ct).ConfigureAwait(false);
        return new IntakeReceivedEvent(route.Id, ToInboxItem(route.Id, record)) { OccurredAt = now };
    }

    internal IntakeInboxItem ToInboxItem(ConversationId conversation, WorkItemRecord record) =>
        new(new IntakeSubmissionId(record.ItemId), conversation, new UserId(record.Patient), record.FormCanonical ?? string.Empty, DateTimeOffset.FromUnixTimeMilliseconds(record.ReceivedAt), record.RedFlags, ToClaim(record));

    internal ClaimResult? ToClaim(WorkItemRecord record) =>
        record.ClaimedBy is null ? null : new ClaimResult(new UserId(record.ClaimedBy), DateTimeOffset.FromUnixTimeMilliseconds(record.ClaimedAt ?? 0), record.ClaimedBy == _options.User.Value);

    private async Task<CallbackChangedEvent?> ApplyTransitionAsync(ConversationRoute route, SecureMessage message, CallbackTransitionContent content, DateTimeOffset now, CancellationToken ct)
    {
        WorkItemRecord? record = await _data!.GetWorkItemAsync(route.Id, CallbackCollection, content.RequestId.Value, ct).ConfigureAwait(false);
        if (record is null || content.Transition.Actor.Id != message.Sender.Id)
        {
            ClientLog.MessageRejected(_logger, message.Id.Value, record is null ? "transition of an unknown callback request" : "transition actor is not the sender");
            return null;
        }

        SecureMessage current = MessageSerializer.Deserialize(record.Message);
        CallbackRequest request = ((CallbackRequestContent)current.Content).Request;
        CallbackRequest updated;
        try
        {
            updated = request.Apply(content.Transition);
        }
        catch (TelehealthException ex)
        {
            ClientLog.MessageRejected(_logger, message.Id.Value, "callback transition refused: " + ex.ErrorCode.ToString());
            return null;
        }

        record.StoreCallbackState(current, updated);
        await _data.SaveWorkItemAsync(route.Id, CallbackCollection, record, ct).ConfigureAwait(false);
        return new CallbackChangedEvent(route.Id, updated) { OccurredAt = now };
    }

    private async Task ProcessClaimAsync(ConversationRoute route, ClaimNotice claim, CancellationToken ct)
    {
        WorkItemClaimedEvent? claimed = null;
        await _data!.LockedAsync(
            async () =>
            {
                foreach (string collection in new[] { IntakeCollection, CallbackCollection })
                {
                    WorkItemRecord? record = await _data.GetWorkItemAsync(route.Id, collection, claim.ItemId, ct).ConfigureAwait(false);
                    if (record is null || !record.TryRecordClaim(claim))
                    {
                        continue;
                    }

                    await _data.SaveWorkItemAsync(route.Id, collection, record, ct).ConfigureAwait(false);
                    claimed = new WorkItemClaimedEvent(route.Id, claim.ItemId, ToClaim(record)!) { OccurredAt = _time.GetUtcNow() };
                }
            },
            ct).ConfigureAwait(false);
        if (claimed is not null)
        {
            Publish(claimed);
        }
    }

    /// <summary>Records the winning claim locally and, when it is this user's, announces it to the conversation.</summary>
    internal async Task<ClaimResult> ClaimWorkItemAsync(ConversationId conversationId, string collection, string itemId, CancellationToken ct)
    {
        (LocalData data, IRelayDirectory directory) = await OpenConnectedAsync(ct).ConfigureAwait(false);
        Conversation conversation = await data.GetConversationAsync(conversationId, ct).ConfigureAwait(false)
            ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "The conversation is not known to this device.");
        if (_options.Role != ParticipantRole.Clinician || conversation.Clinic is not ClinicId clinic || clinic != _options.Clinic)
        {
            throw new TelehealthException(TelehealthErrorCode.NotPermitted, "Only a clinician of the conversation's clinic can claim its work items.");
        }

        WorkItemClaim winner = await directory.ClaimWorkItemAsync(clinic, collection[..^1] + "." + itemId, ct).ConfigureAwait(false);
        var notice = new ClaimNotice(itemId, winner.ClaimedBy, winner.ClaimedByDevice, winner.ClaimedAt);
        WorkItemRecord? record = null;
        await data.LockedAsync(
            async () =>
            {
                record = await data.GetWorkItemAsync(conversationId, collection, itemId, ct).ConfigureAwait(false);
                if (record is not null && record.TryRecordClaim(notice))
                {
                    await data.SaveWorkItemAsync(conversationId, collection, record, ct).ConfigureAwait(false);
                }
            },
            ct).ConfigureAwait(false);
        var result = new ClaimResult(winner.ClaimedBy, winner.ClaimedAt, winner.ClaimedBy == _options.User);
        if (winner.IsOwn)
        {
            await EnqueueClaimAsync(RouteOf(conversation), notice, ct).ConfigureAwait(false);
        }

        Publish(new WorkItemClaimedEvent(conversationId, itemId, result) { OccurredAt = _time.GetUtcNow() });
        return result;
    }

    internal static ConversationRoute RouteOf(Conversation conversation) =>
        new(conversation.Id, conversation.Kind, conversation.Clinic, conversation.Patient, conversation.Peer);

    private sealed class NoRecipientDevicesException() : TelehealthException(TelehealthErrorCode.RelayUnavailable, "No device of the conversation's parties is registered yet; the item waits.");
}

// Local side of callback steps taken on this device.
public sealed partial class TelehealthClient
{
    internal async Task StoreOwnCallbackAsync(ConversationId conversation, SecureMessage message, CancellationToken ct)
    {
        LocalData data = await OpenAsync(ct).ConfigureAwait(false);
        var request = ((CallbackRequestContent)message.Content).Request;
        await data.LockedAsync(
            () => data.SaveWorkItemAsync(conversation, CallbackCollection, new WorkItemRecord { ItemId = request.Id.Value, Patient = _options.User.Value, ReceivedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(), Message = MessageSerializer.Serialize(message) }, ct),
            ct).ConfigureAwait(false);
        Publish(new CallbackChangedEvent(conversation, request) { OccurredAt = _time.GetUtcNow() });
    }

    /// <summary>
    /// Applies a step to the stored request (the state machine checks it; a refusal changes nothing), then sends the
    /// transition to the conversation. Clinicians other than the claimant are refused.
    /// </summary>
    internal async Task<CallbackRequest> ApplyOwnTransitionAsync(ConversationId conversationId, CallbackRequestId id, Func<CallbackRequest, CallbackRequest> step, CancellationToken ct)
    {
        LocalData data = await OpenAsync(ct).ConfigureAwait(false);
        Conversation conversation = await data.GetConversationAsync(conversationId, ct).ConfigureAwait(false)
            ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "The conversation is not known to this device.");
        CallbackRequest? before = null;
        CallbackRequest? after = null;
        await data.LockedAsync(
            async () =>
            {
                WorkItemRecord record = await data.GetWorkItemAsync(conversationId, CallbackCollection, id.Value, ct).ConfigureAwait(false)
                    ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "No callback request with that id is known to this device.");
                if (_options.Role == ParticipantRole.Clinician && record.ClaimedBy != _options.User.Value)
                {
                    throw new TelehealthException(TelehealthErrorCode.NotPermitted, record.ClaimedBy is null
                        ? "Accept (claim) the callback request before acting on it."
                        : "Another clinician claimed this callback request.");
                }

                SecureMessage current = MessageSerializer.Deserialize(record.Message);
                before = ((CallbackRequestContent)current.Content).Request;
                after = step(before);
                if (ReferenceEquals(after, before))
                {
                    return;
                }

                record.StoreCallbackState(current, after);
                await data.SaveWorkItemAsync(conversationId, CallbackCollection, record, ct).ConfigureAwait(false);
            },
            ct).ConfigureAwait(false);
        if (ReferenceEquals(after, before))
        {
            return after!;
        }

        SecureMessage transition = SecureMessage.Create(conversationId, Self, _device, new CallbackTransitionContent(id, after!.History[^1]), _time);
        await EnqueueMessageAsync(RouteOf(conversation), transition, recordInHistory: true, ct).ConfigureAwait(false);
        await AuditAsync(AuditAction.CallbackTransition, [AuditSubject.Of(conversationId), AuditSubject.Of(id)], AuditCode.Of(after.History[^1].Action), cancellationToken: ct).ConfigureAwait(false);
        Publish(new CallbackChangedEvent(conversationId, after) { OccurredAt = _time.GetUtcNow() });
        return after;
    }

    internal async Task StoreOwnIntakeAsync(Conversation conversation, SecureMessage message, IntakeSubmissionContent content, CancellationToken ct)
    {
        LocalData data = await OpenAsync(ct).ConfigureAwait(false);
        await data.LockedAsync(() => StoreIntakeAsync(RouteOf(conversation), message, content, _time.GetUtcNow(), ct), ct).ConfigureAwait(false);
    }
}
