using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging;

/// <summary>
/// The client's typed view of its <see cref="IDataStore"/>. Conversation data (history, outbox, intakes, callbacks)
/// lives in the conversation's own scope <c>c/{id}</c>, so erasing a conversation crypto-shreds all of it; the device
/// scope holds the conversation list, dedupe ids, the relay cursor and what was published.
/// </summary>
/// <remarks>Read-modify-write sequences run under one gate so the receive and send loops never lose each other's updates.</remarks>
internal sealed class LocalData(IDataStore store) : IDisposable
{
    private const string Device = IDataStore.DeviceScope;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IDataStore Store => store;

    public void Dispose() => _gate.Dispose();

    public static string ScopeOf(ConversationId id) => "c/" + id.Value;

    public async Task<T> LockedAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task LockedAsync(Func<Task> action, CancellationToken cancellationToken) =>
        LockedAsync(async () => { await action().ConfigureAwait(false); return true; }, cancellationToken);

    // ---- device state ----

    public async Task<string?> GetTextAsync(string name, CancellationToken cancellationToken)
    {
        byte[]? value = await store.GetAsync(new DataRecordKey(Device, "state", name), cancellationToken).ConfigureAwait(false);
        return value is null ? null : Encoding.UTF8.GetString(value);
    }

    public Task SetTextAsync(string name, string value, CancellationToken cancellationToken) =>
        store.SetAsync(new DataRecordKey(Device, "state", name), Encoding.UTF8.GetBytes(value), cancellationToken);

    public Task<PublishedKeysRecord?> GetPublishedAsync(CancellationToken cancellationToken) =>
        GetAsync(new DataRecordKey(Device, "state", "published"), LocalRecordsJsonContext.Default.PublishedKeysRecord, cancellationToken);

    public Task SetPublishedAsync(PublishedKeysRecord record, CancellationToken cancellationToken) =>
        SetAsync(new DataRecordKey(Device, "state", "published"), record, LocalRecordsJsonContext.Default.PublishedKeysRecord, cancellationToken);

    public async Task<bool> IsSeenAsync(MessageId id, CancellationToken cancellationToken) =>
        await store.GetAsync(new DataRecordKey(Device, "seen", id.Value), cancellationToken).ConfigureAwait(false) is not null;

    public Task MarkSeenAsync(MessageId id, CancellationToken cancellationToken) =>
        store.SetAsync(new DataRecordKey(Device, "seen", id.Value), "1"u8.ToArray(), cancellationToken);

    // ---- conversations ----

    public async Task<Conversation?> GetConversationAsync(ConversationId id, CancellationToken cancellationToken)
    {
        ConversationRecord? record = await GetAsync(new DataRecordKey(Device, "conversations", id.Value), LocalRecordsJsonContext.Default.ConversationRecord, cancellationToken).ConfigureAwait(false);
        return record is null ? null : ToConversation(record);
    }

    /// <summary>Stores the conversation unless known; returns it and whether it is new.</summary>
    public async Task<(Conversation Conversation, bool IsNew)> EnsureConversationAsync(ConversationRoute route, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Conversation? known = await GetConversationAsync(route.Id, cancellationToken).ConfigureAwait(false);
        if (known is not null)
        {
            return (known, false);
        }

        var record = new ConversationRecord
        {
            Id = route.Id.Value,
            Kind = (int)route.Kind,
            Clinic = route.Clinic?.Value,
            Patient = route.Patient.Value,
            Peer = route.Peer?.Value,
            CreatedAt = now.ToUnixTimeMilliseconds(),
        };
        await SetAsync(new DataRecordKey(Device, "conversations", route.Id.Value), record, LocalRecordsJsonContext.Default.ConversationRecord, cancellationToken).ConfigureAwait(false);
        return (ToConversation(record), true);
    }

    public async Task<IReadOnlyList<Conversation>> ListConversationsAsync(CancellationToken cancellationToken)
    {
        var conversations = new List<Conversation>();
        foreach (string name in await store.ListAsync(Device, "conversations", cancellationToken).ConfigureAwait(false))
        {
            if (await GetConversationAsync(new ConversationId(name), cancellationToken).ConfigureAwait(false) is { } conversation)
            {
                conversations.Add(conversation);
            }
        }

        return conversations;
    }

    public async Task EraseConversationAsync(ConversationId id, CancellationToken cancellationToken)
    {
        await store.EraseScopeAsync(ScopeOf(id), cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(new DataRecordKey(Device, "conversations", id.Value), cancellationToken).ConfigureAwait(false);
    }

    // ---- history ----

    public async Task AppendMessageAsync(SecureMessage message, bool outgoing, MessageStatus status, CancellationToken cancellationToken)
    {
        string scope = ScopeOf(message.ConversationId);

        // Ordered by the sender's clock (alike on every device), ties within a millisecond by arrival on this device.
        string? next = await GetTextAsync("history-seq", cancellationToken).ConfigureAwait(false);
        long seq = next is null ? 1 : long.Parse(next, CultureInfo.InvariantCulture);
        await SetTextAsync("history-seq", (seq + 1).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        string name = string.Create(CultureInfo.InvariantCulture, $"{message.SentAt.ToUnixTimeMilliseconds():D15}_{seq:D12}");
        var record = new MessageRecord { Outgoing = outgoing, Status = (int)status, Message = MessageSerializer.Serialize(message) };
        await SetAsync(new DataRecordKey(scope, "messages", name), record, LocalRecordsJsonContext.Default.MessageRecord, cancellationToken).ConfigureAwait(false);
        await store.SetAsync(new DataRecordKey(scope, "message-index", message.Id.Value), Encoding.UTF8.GetBytes(name), cancellationToken).ConfigureAwait(false);
    }

    public async Task<ConversationMessage?> GetMessageAsync(ConversationId conversation, MessageId id, CancellationToken cancellationToken)
    {
        (DataRecordKey? key, MessageRecord? record) = await FindMessageAsync(conversation, id, cancellationToken).ConfigureAwait(false);
        return key is null ? null : ToMessage(record!);
    }

    /// <summary>Moves an outgoing message's status forward (Pending → Sent → Delivered → Read, or Failed); returns whether it changed.</summary>
    public async Task<bool> AdvanceStatusAsync(ConversationId conversation, MessageId id, MessageStatus status, TelehealthErrorCode? failure, CancellationToken cancellationToken)
    {
        (DataRecordKey? key, MessageRecord? record) = await FindMessageAsync(conversation, id, cancellationToken).ConfigureAwait(false);
        if (key is null || !record!.Outgoing)
        {
            return false;
        }

        var current = (MessageStatus)record.Status;
        bool forward = status == MessageStatus.Failed ? current == MessageStatus.Pending : current != MessageStatus.Failed && status > current;
        if (!forward)
        {
            return false;
        }

        record.Status = (int)status;
        record.Failure = failure is null ? null : (int)failure.Value;
        await SetAsync(key.Value, record, LocalRecordsJsonContext.Default.MessageRecord, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<HistoryPage> GetHistoryAsync(ConversationId conversation, int pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        string scope = ScopeOf(conversation);
        IReadOnlyList<string> names = await store.ListAsync(scope, "messages", cancellationToken).ConfigureAwait(false);
        int end = names.Count;
        if (continuationToken is not null)
        {
            end = 0;
            while (end < names.Count && string.CompareOrdinal(names[end], continuationToken) < 0)
            {
                end++;
            }
        }

        int start = Math.Max(0, end - pageSize);
        var messages = new List<ConversationMessage>(end - start);
        for (int i = start; i < end; i++)
        {
            MessageRecord? record = await GetAsync(new DataRecordKey(scope, "messages", names[i]), LocalRecordsJsonContext.Default.MessageRecord, cancellationToken).ConfigureAwait(false);
            if (record is not null)
            {
                messages.Add(ToMessage(record));
            }
        }

        return new HistoryPage(messages, start > 0 ? names[start] : null);
    }

    // ---- outbox ----

    public async Task<OutboxRecord> EnqueueAsync(ConversationId conversation, byte[] payload, MessageId? messageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string scope = ScopeOf(conversation);
        IReadOnlyList<string> pending = await store.ListAsync(scope, "outbox", cancellationToken).ConfigureAwait(false);
        string? next = await GetTextAsync("outbox-seq", cancellationToken).ConfigureAwait(false);
        long seq = next is null ? 1 : long.Parse(next, CultureInfo.InvariantCulture);
        if (pending.Count > 0)
        {
            seq = Math.Max(seq, long.Parse(pending[^1], CultureInfo.InvariantCulture) + 1);
        }

        var record = new OutboxRecord { Seq = seq, Payload = payload, MessageId = messageId?.Value, NextAttemptAt = now.ToUnixTimeMilliseconds() };
        await SetTextAsync("outbox-seq", (seq + 1).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        await SaveOutboxAsync(conversation, record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    public Task SaveOutboxAsync(ConversationId conversation, OutboxRecord record, CancellationToken cancellationToken) =>
        SetAsync(new DataRecordKey(ScopeOf(conversation), "outbox", OutboxName(record.Seq)), record, LocalRecordsJsonContext.Default.OutboxRecord, cancellationToken);

    public Task RemoveOutboxAsync(ConversationId conversation, long seq, CancellationToken cancellationToken) =>
        store.DeleteAsync(new DataRecordKey(ScopeOf(conversation), "outbox", OutboxName(seq)), cancellationToken);

    public async Task<OutboxRecord?> FirstOutboxAsync(ConversationId conversation, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> names = await store.ListAsync(ScopeOf(conversation), "outbox", cancellationToken).ConfigureAwait(false);
        return names.Count == 0 ? null : await GetAsync(new DataRecordKey(ScopeOf(conversation), "outbox", names[0]), LocalRecordsJsonContext.Default.OutboxRecord, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> CountOutboxAsync(ConversationId conversation, CancellationToken cancellationToken) =>
        (await store.ListAsync(ScopeOf(conversation), "outbox", cancellationToken).ConfigureAwait(false)).Count;

    // ---- clinic work items (intakes and callbacks) ----

    public Task<WorkItemRecord?> GetWorkItemAsync(ConversationId conversation, string collection, string itemId, CancellationToken cancellationToken) =>
        GetAsync(new DataRecordKey(ScopeOf(conversation), collection, itemId), LocalRecordsJsonContext.Default.WorkItemRecord, cancellationToken);

    public async Task SaveWorkItemAsync(ConversationId conversation, string collection, WorkItemRecord record, CancellationToken cancellationToken)
    {
        await SetAsync(new DataRecordKey(ScopeOf(conversation), collection, record.ItemId), record, LocalRecordsJsonContext.Default.WorkItemRecord, cancellationToken).ConfigureAwait(false);
        await store.SetAsync(new DataRecordKey(Device, collection + "-index", record.ItemId), Encoding.UTF8.GetBytes(conversation.Value), cancellationToken).ConfigureAwait(false);
    }

    public async Task<ConversationId?> FindWorkItemConversationAsync(string collection, string itemId, CancellationToken cancellationToken)
    {
        if (!Identifier.IsValid(itemId))
        {
            return null;
        }

        byte[]? value = await store.GetAsync(new DataRecordKey(Device, collection + "-index", itemId), cancellationToken).ConfigureAwait(false);
        return value is null ? null : new ConversationId(Encoding.UTF8.GetString(value));
    }

    public async Task<List<(ConversationId Conversation, WorkItemRecord Record)>> ListWorkItemsAsync(string collection, CancellationToken cancellationToken)
    {
        var items = new List<(ConversationId, WorkItemRecord)>();
        foreach (string itemId in await store.ListAsync(Device, collection + "-index", cancellationToken).ConfigureAwait(false))
        {
            if (await FindWorkItemConversationAsync(collection, itemId, cancellationToken).ConfigureAwait(false) is ConversationId conversation
                && await GetWorkItemAsync(conversation, collection, itemId, cancellationToken).ConfigureAwait(false) is { } record)
            {
                items.Add((conversation, record));
            }
        }

        return items;
    }

    // ---- helpers ----

    private static string OutboxName(long seq) => seq.ToString("D15", CultureInfo.InvariantCulture);

    private async Task<(DataRecordKey? Key, MessageRecord? Record)> FindMessageAsync(ConversationId conversation, MessageId id, CancellationToken cancellationToken)
    {
        string scope = ScopeOf(conversation);
        byte[]? name = await store.GetAsync(new DataRecordKey(scope, "message-index", id.Value), cancellationToken).ConfigureAwait(false);
        if (name is null)
        {
            return (null, null);
        }

        var key = new DataRecordKey(scope, "messages", Encoding.UTF8.GetString(name));
        MessageRecord? record = await GetAsync(key, LocalRecordsJsonContext.Default.MessageRecord, cancellationToken).ConfigureAwait(false);
        return record is null ? (null, null) : (key, record);
    }

    private static ConversationMessage ToMessage(MessageRecord record) =>
        new(MessageSerializer.Deserialize(record.Message), record.Outgoing, (MessageStatus)record.Status, record.Failure is int f ? (TelehealthErrorCode)f : null);

    private static Conversation ToConversation(ConversationRecord record) =>
        new(
            new ConversationId(record.Id),
            (ConversationKind)record.Kind,
            record.Clinic is null ? null : new ClinicId(record.Clinic),
            new UserId(record.Patient),
            record.Peer is null ? null : new UserId(record.Peer),
            DateTimeOffset.FromUnixTimeMilliseconds(record.CreatedAt));

    private async Task<T?> GetAsync<T>(DataRecordKey key, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        byte[]? value = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return value is null ? null : JsonSerializer.Deserialize(value, type);
    }

    private Task SetAsync<T>(DataRecordKey key, T value, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        store.SetAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, type), cancellationToken);
}
