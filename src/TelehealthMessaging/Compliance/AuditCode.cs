using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Compliance;

/// <summary>The vocabulary an <see cref="AuditCode"/> comes from.</summary>
public enum AuditCodeKind
{
    /// <summary>A <see cref="Callbacks.CallbackAction"/>: the transition of a callback request.</summary>
    CallbackAction = 1,

    /// <summary>A <see cref="Compliance.ConsentPurpose"/>.</summary>
    ConsentPurpose = 2,
}

/// <summary>
/// A detail of an audited action drawn from a closed vocabulary (a callback transition, a consent purpose). There is
/// no way to create one from arbitrary text, so an audit record can never carry free text.
/// </summary>
public readonly record struct AuditCode
{
    private AuditCode(AuditCodeKind kind, int value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>The vocabulary.</summary>
    public AuditCodeKind Kind { get; }

    /// <summary>The code as text, for example <c>record-no-answer</c> or <c>health-data-processing</c>.</summary>
    public string Code => Kind switch
    {
        AuditCodeKind.CallbackAction => CallbackActionCode((CallbackAction)Value),
        AuditCodeKind.ConsentPurpose => ((ConsentPurpose)Value).ToCode(),
        _ => string.Empty,
    };

    // The enum value: small and fixed, which keeps the canonical encoding to one byte.
    internal int Value { get; }

    /// <summary>The code of a callback transition.</summary>
    /// <param name="action">The transition.</param>
    /// <returns>The code.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="action"/> is not a defined value.</exception>
    public static AuditCode Of(CallbackAction action) => Create(AuditCodeKind.CallbackAction, (int)action);

    /// <summary>The code of a consent purpose.</summary>
    /// <param name="purpose">The purpose.</param>
    /// <returns>The code.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="purpose"/> is not a defined value.</exception>
    public static AuditCode Of(ConsentPurpose purpose) => Create(AuditCodeKind.ConsentPurpose, (int)purpose);

    /// <summary>Returns <c>Kind:Code</c>.</summary>
    /// <returns>The code as text.</returns>
    public override string ToString() => $"{Kind}:{Code}";

    internal static AuditCode Create(AuditCodeKind kind, int value)
    {
        bool defined = kind switch
        {
            AuditCodeKind.CallbackAction => Enum.IsDefined((CallbackAction)value),
            AuditCodeKind.ConsentPurpose => Enum.IsDefined((ConsentPurpose)value),
            _ => false,
        };
        if (!defined)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "The code is not a defined value of its vocabulary.");
        }

        return new AuditCode(kind, value);
    }

    private static string CallbackActionCode(CallbackAction action) => action switch
    {
        CallbackAction.Accept => "accept",
        CallbackAction.Schedule => "schedule",
        CallbackAction.Start => "start",
        CallbackAction.RecordNoAnswer => "record-no-answer",
        CallbackAction.Complete => "complete",
        CallbackAction.Decline => "decline",
        CallbackAction.Cancel => "cancel",
        CallbackAction.Expire => "expire",
        CallbackAction.RaisePriority => "raise-priority",
        _ => string.Empty,
    };
}
