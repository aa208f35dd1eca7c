using System.Text.Json;

namespace TelehealthMessaging.Intake;

/// <summary>
/// A clinic's intake form, loaded from a FHIR R4 <c>Questionnaire</c> as it is. Immutable and thread-safe: load it
/// once and share it.
/// </summary>
/// <remarks>
/// Unknown properties and extensions are ignored so that any R4 Questionnaire loads; see docs/intake.md for what is
/// interpreted. A form that cannot be interpreted safely (duplicate linkIds, an <c>enableWhen</c> naming a missing
/// item, an unknown item type, options on a non-choice item) is rejected with
/// <see cref="TelehealthErrorCode.InvalidFormat"/>.
/// </remarks>
public sealed class IntakeForm
{
    private readonly Dictionary<string, IntakeItem> _byLinkId;

    internal IntakeForm(
        string? id,
        string? url,
        string? version,
        string? name,
        string? title,
        string? status,
        IReadOnlyList<IntakeItem> items,
        Dictionary<string, IntakeItem> byLinkId,
        IReadOnlyList<IntakeItem> allItems)
    {
        Id = id;
        Url = url;
        Version = version;
        Name = name;
        Title = title;
        Status = status;
        Items = items.ToList().AsReadOnly();
        _byLinkId = byLinkId;
        AllItems = allItems.ToList().AsReadOnly();
    }

    /// <summary>The Questionnaire's logical id, if any.</summary>
    public string? Id { get; }

    /// <summary>The Questionnaire's canonical URL, if any.</summary>
    public string? Url { get; }

    /// <summary>The Questionnaire's business version, if any.</summary>
    public string? Version { get; }

    /// <summary>The computer-friendly name, if any.</summary>
    public string? Name { get; }

    /// <summary>The human-friendly title, if any.</summary>
    public string? Title { get; }

    /// <summary>The publication status as written (<c>draft</c>, <c>active</c>, <c>retired</c>, <c>unknown</c>), if any.</summary>
    public string? Status { get; }

    /// <summary>
    /// How a QuestionnaireResponse refers to this form: <c>url|version</c> when a version exists, the URL alone
    /// otherwise, <see langword="null"/> when the form has no URL.
    /// </summary>
    public string? Canonical => Url is null ? null : Version is null ? Url : Url + "|" + Version;

    /// <summary>The top-level items, in form order.</summary>
    public IReadOnlyList<IntakeItem> Items { get; }

    /// <summary>Every item at every depth, depth-first in form order (handy to walk items with their <c>definition</c>).</summary>
    public IReadOnlyList<IntakeItem> AllItems { get; }

    /// <summary>Parses a FHIR R4 Questionnaire in JSON.</summary>
    /// <param name="json">The Questionnaire JSON.</param>
    /// <returns>The loaded form.</returns>
    /// <exception cref="TelehealthException">
    /// <see cref="TelehealthErrorCode.InvalidFormat"/>: the JSON is malformed, not a Questionnaire, or cannot be
    /// interpreted; the message names the linkId or JSON path.
    /// </exception>
    public static IntakeForm Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = QuestionnaireReader.ParseDocument(() => JsonDocument.Parse(json, QuestionnaireReader.DocumentOptions));
        return QuestionnaireReader.Read(document.RootElement);
    }

    /// <summary>Parses a FHIR R4 Questionnaire in UTF-8 JSON.</summary>
    /// <param name="utf8Json">The Questionnaire as UTF-8 JSON.</param>
    /// <returns>The loaded form.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.InvalidFormat"/>; see <see cref="Parse(string)"/>.</exception>
    public static IntakeForm Parse(ReadOnlySpan<byte> utf8Json)
    {
        // JsonDocument needs memory it can keep; the copy also makes trailing garbage an error, as with Parse(string).
        byte[] copy = utf8Json.ToArray();
        using JsonDocument document = QuestionnaireReader.ParseDocument(() => JsonDocument.Parse(copy, QuestionnaireReader.DocumentOptions));
        return QuestionnaireReader.Read(document.RootElement);
    }

    /// <summary>Reads a FHIR R4 Questionnaire in UTF-8 JSON from <paramref name="utf8Json"/>.</summary>
    /// <param name="utf8Json">A stream positioned at the Questionnaire JSON; it is not disposed.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The loaded form.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.InvalidFormat"/>; see <see cref="Parse(string)"/>.</exception>
    public static async Task<IntakeForm> LoadAsync(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        JsonDocument parsed;
        try
        {
            parsed = await JsonDocument.ParseAsync(utf8Json, QuestionnaireReader.DocumentOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw QuestionnaireReader.Malformed(ex);
        }

        using JsonDocument document = parsed;
        return QuestionnaireReader.Read(document.RootElement);
    }

    /// <summary>Finds the item with <paramref name="linkId"/> at any depth.</summary>
    /// <param name="linkId">The item's linkId.</param>
    /// <returns>The item, or <see langword="null"/> when the form has none with that linkId.</returns>
    public IntakeItem? FindItem(string linkId)
    {
        ArgumentNullException.ThrowIfNull(linkId);
        return _byLinkId.GetValueOrDefault(linkId);
    }

    /// <summary>Returns the item with <paramref name="linkId"/> at any depth.</summary>
    /// <param name="linkId">The item's linkId.</param>
    /// <returns>The item.</returns>
    /// <exception cref="ArgumentException">The form has no item with that linkId.</exception>
    public IntakeItem GetItem(string linkId) =>
        FindItem(linkId) ?? throw new ArgumentException($"The form has no item with linkId '{linkId}'.", nameof(linkId));

    /// <summary>Names the form by canonical.</summary>
    /// <returns>For example <c>IntakeForm { Canonical = http://example.org/q|1 }</c>.</returns>
    public override string ToString() => $"IntakeForm {{ Canonical = {Canonical ?? "(none)"} }}";

    // A QuestionnaireResponse.questionnaire refers to this form when the URLs match and, if it names a version, the
    // versions match too (an unversioned reference means "the current version").
    internal bool IsReferencedBy(string canonical)
    {
        if (Url is null)
        {
            return false;
        }

        int bar = canonical.IndexOf('|', StringComparison.Ordinal);
        string url = bar < 0 ? canonical : canonical[..bar];
        string? version = bar < 0 ? null : canonical[(bar + 1)..];
        return string.Equals(url, Url, StringComparison.Ordinal)
            && (version is null || string.Equals(version, Version, StringComparison.Ordinal));
    }
}
