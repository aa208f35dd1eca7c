namespace TelehealthMessaging.Compliance;

/// <summary>
/// An event to append to an <see cref="AuditLog"/>: what happened, who did it, what it was about and how it ended.
/// Only enums, typed ids and closed-vocabulary codes: there is no place for free text or health data.
/// </summary>
public sealed class AuditEntry
{
    /// <summary>The most subjects one entry may name.</summary>
    public const int MaxSubjects = 8;

    private readonly long? _count;

    /// <summary>Creates an entry.</summary>
    /// <param name="action">What happened.</param>
    /// <param name="actor">The user on whose behalf the device acted.</param>
    /// <param name="subjects">What the action was about (at most <see cref="MaxSubjects"/>); none for store locks.</param>
    /// <param name="outcome">How the action ended.</param>
    /// <param name="code">
    /// The transition for <see cref="AuditAction.CallbackTransition"/>, the purpose for
    /// <see cref="AuditAction.ConsentGranted"/> and <see cref="AuditAction.ConsentWithdrawn"/>; required for those and
    /// not allowed for other actions.
    /// </param>
    /// <exception cref="ArgumentException">
    /// An argument is undefined or the default value, there are too many subjects, or <paramref name="code"/> does not fit <paramref name="action"/>.
    /// </exception>
    public AuditEntry(AuditAction action, UserId actor, IEnumerable<AuditSubject>? subjects = null, AuditOutcome outcome = AuditOutcome.Success, AuditCode? code = null)
    {
        if (!Enum.IsDefined(action))
        {
            throw new ArgumentOutOfRangeException(nameof(action));
        }

        if (!Enum.IsDefined(outcome))
        {
            throw new ArgumentOutOfRangeException(nameof(outcome));
        }

        if (actor.Value is null)
        {
            throw new ArgumentException("The actor must be a valid user id, not the default value.", nameof(actor));
        }

        List<AuditSubject> list = subjects?.ToList() ?? [];
        if (list.Count > MaxSubjects)
        {
            throw new ArgumentException($"An audit entry names at most {MaxSubjects} subjects.", nameof(subjects));
        }

        if (list.Any(s => s.Id is null))
        {
            throw new ArgumentException("A subject is the default value; create subjects with AuditSubject.Of.", nameof(subjects));
        }

        AuditCodeKind? expected = ExpectedCodeKind(action);
        if (code is { } c && c.Kind == default)
        {
            throw new ArgumentException("The code is the default value; create codes with AuditCode.Of.", nameof(code));
        }

        if (code?.Kind != expected)
        {
            throw new ArgumentException(
                expected is null
                    ? $"Action {action} takes no code."
                    : $"Action {action} needs a code of kind {expected}.",
                nameof(code));
        }

        Action = action;
        Actor = actor;
        Subjects = list.AsReadOnly();
        Outcome = outcome;
        Code = code;
    }

    /// <summary>What happened.</summary>
    public AuditAction Action { get; }

    /// <summary>The user on whose behalf the device acted.</summary>
    public UserId Actor { get; }

    /// <summary>What the action was about.</summary>
    public IReadOnlyList<AuditSubject> Subjects { get; }

    /// <summary>How the action ended.</summary>
    public AuditOutcome Outcome { get; }

    /// <summary>The transition or purpose, for the actions that take one.</summary>
    public AuditCode? Code { get; }

    /// <summary>
    /// How many items the action affected (for example the envelopes a <see cref="AuditAction.RetentionPurge"/>
    /// deleted), or <see langword="null"/> (the default) when a count does not apply. A number, never content.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long? Count
    {
        get => _count;
        init => _count = value is < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "A count cannot be negative.") : value;
    }

    /// <summary>Describes the entry (ids and codes only).</summary>
    /// <returns>The entry as text.</returns>
    public override string ToString() =>
        $"AuditEntry {{ Action = {Action}, Actor = {Actor}, Outcome = {Outcome}, Code = {Code?.ToString() ?? "(none)"}{(Count is { } count ? ", Count = " + count.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty)}, Subjects = [{string.Join(", ", Subjects)}] }}";

    internal static AuditCodeKind? ExpectedCodeKind(AuditAction action) => action switch
    {
        AuditAction.CallbackTransition => AuditCodeKind.CallbackAction,
        AuditAction.ConsentGranted or AuditAction.ConsentWithdrawn => AuditCodeKind.ConsentPurpose,
        _ => null,
    };
}
