using TelehealthMessaging.Compliance;

namespace TelehealthMessaging;

/// <summary>Conversations with clinics and users, and their local history. Reached through <see cref="TelehealthClient.Conversations"/>.</summary>
public sealed class ConversationsClient
{
    private readonly TelehealthClient _client;

    internal ConversationsClient(TelehealthClient client) => _client = client;

    /// <summary>Opens (or returns) this patient's conversation with a clinic. Every device of both sides names it alike.</summary>
    /// <param name="clinic">The clinic.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.NotPermitted"/>: only patients open clinic conversations.</exception>
    public async Task<Conversation> OpenWithClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        if (clinic.Value is null)
        {
            throw new ArgumentException("The clinic id must not be the default value.", nameof(clinic));
        }

        if (_client.Role != ParticipantRole.Patient)
        {
            throw new TelehealthException(TelehealthErrorCode.NotPermitted, "Only a patient opens a conversation with a clinic; clinicians see them arrive.");
        }

        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        ConversationRoute route = ConversationRoute.ForClinic(_client.User, clinic);
        return await data.LockedAsync(async () => (await data.EnsureConversationAsync(route, _client.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false)).Conversation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens (or returns) the direct conversation with another user.</summary>
    /// <param name="user">The other user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation.</returns>
    public async Task<Conversation> OpenWithUserAsync(UserId user, CancellationToken cancellationToken = default)
    {
        if (user.Value is null || user == _client.User)
        {
            throw new ArgumentException("The other user must be a valid user id other than this client's.", nameof(user));
        }

        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        ConversationRoute route = ConversationRoute.ForDirect(_client.User, user);
        return await data.LockedAsync(async () => (await data.EnsureConversationAsync(route, _client.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false)).Conversation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every conversation this device knows.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversations.</returns>
    public async Task<IReadOnlyList<Conversation>> ListAsync(CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.ListConversationsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One conversation, or <see langword="null"/> when this device does not know it.</summary>
    /// <param name="id">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation or <see langword="null"/>.</returns>
    public async Task<Conversation?> GetAsync(ConversationId id, CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.GetConversationAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A page of the conversation's local history, newest page first; messages within a page oldest first.</summary>
    /// <param name="id">The conversation.</param>
    /// <param name="pageSize">1 to 500 messages.</param>
    /// <param name="continuationToken">The token of the previous page, for the page before it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public async Task<HistoryPage> GetHistoryAsync(ConversationId id, int pageSize = 50, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, 500);
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.GetHistoryAsync(id, pageSize, continuationToken, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Erases the conversation from this device by destroying its key (crypto-shredding): history, intakes, callbacks
    /// and unsent items become unrecoverable. Other devices and parties keep their copies.
    /// </summary>
    /// <param name="id">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once the key is destroyed and the erase is in the audit log.</returns>
    public async Task EraseAsync(ConversationId id, CancellationToken cancellationToken = default)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The conversation id must not be the default value.", nameof(id));
        }

        await _client.EraseConversationAsync(id, AuditAction.DataErased, cancellationToken).ConfigureAwait(false);
    }
}
