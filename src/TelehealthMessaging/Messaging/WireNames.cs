using System.Collections.Frozen;
using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Messaging;

// The names enums take on the wire. Written out rather than derived from the C# names so that renaming a member can
// never change the format.
internal static class WireNames
{
    public static readonly WireNames<ParticipantRole> Roles = new(
        (ParticipantRole.Patient, "patient"),
        (ParticipantRole.Clinician, "clinician"),
        (ParticipantRole.Clinic, "clinic"),
        (ParticipantRole.System, "system"));

    public static readonly WireNames<CallbackMedium> Media = new((CallbackMedium.Phone, "phone"), (CallbackMedium.Video, "video"));

    public static readonly WireNames<CallbackPriority> Priorities = new(
        (CallbackPriority.Routine, "routine"),
        (CallbackPriority.Urgent, "urgent"),
        (CallbackPriority.Asap, "asap"),
        (CallbackPriority.Stat, "stat"));

    public static readonly WireNames<CallbackState> States = new(
        (CallbackState.Requested, "requested"),
        (CallbackState.Accepted, "accepted"),
        (CallbackState.Scheduled, "scheduled"),
        (CallbackState.InProgress, "in-progress"),
        (CallbackState.NoAnswer, "no-answer"),
        (CallbackState.Completed, "completed"),
        (CallbackState.Declined, "declined"),
        (CallbackState.Cancelled, "cancelled"),
        (CallbackState.Expired, "expired"));

    public static readonly WireNames<CallbackAction> Actions = new(
        (CallbackAction.Accept, "accept"),
        (CallbackAction.Schedule, "schedule"),
        (CallbackAction.Start, "start"),
        (CallbackAction.RecordNoAnswer, "no-answer"),
        (CallbackAction.Complete, "complete"),
        (CallbackAction.Decline, "decline"),
        (CallbackAction.Cancel, "cancel"),
        (CallbackAction.Expire, "expire"),
        (CallbackAction.RaisePriority, "raise-priority"));

    public static readonly WireNames<ReceiptKind> ReceiptKinds = new((ReceiptKind.Delivered, "delivered"), (ReceiptKind.Read, "read"));
}

internal sealed class WireNames<T>
    where T : struct, Enum
{
    private readonly FrozenDictionary<T, string> _names;
    private readonly FrozenDictionary<string, T> _values;

    public WireNames(params (T Value, string Name)[] pairs)
    {
        _names = pairs.ToFrozenDictionary(p => p.Value, p => p.Name);
        _values = pairs.ToFrozenDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
    }

    public string Write(T value) =>
        _names.TryGetValue(value, out string? name) ? name : throw new ArgumentException("The value is not defined.", typeof(T).Name);

    public T Read(string name, string field) =>
        _values.TryGetValue(name, out T value) ? value : throw new ArgumentException("The value is not one of the defined names.", field);
}
