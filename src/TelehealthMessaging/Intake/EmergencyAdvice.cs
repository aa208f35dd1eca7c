namespace TelehealthMessaging.Intake;

/// <summary>The region whose emergency number <see cref="EmergencyAdvice"/> gives.</summary>
public enum EmergencyRegion
{
    /// <summary>United States and Canada: 911.</summary>
    UnitedStates,

    /// <summary>Republic of Korea: 119 (ambulance and fire).</summary>
    Korea,

    /// <summary>European Union: 112.</summary>
    EuropeanUnion,
}

/// <summary>
/// The outcome of a red-flag check that found a possible emergency: tell the patient to call
/// <see cref="EmergencyNumber"/> now instead of waiting for a message or a callback. Any callback linked to the intake
/// should be raised to the highest priority.
/// </summary>
public sealed class EmergencyAdvice
{
    internal EmergencyAdvice(EmergencyRegion region, string emergencyNumber, IReadOnlyList<string> triggeredRuleIds)
    {
        Region = region;
        EmergencyNumber = emergencyNumber;
        TriggeredRuleIds = triggeredRuleIds;
    }

    /// <summary>The region the number is for.</summary>
    public EmergencyRegion Region { get; }

    /// <summary>The emergency number to call, such as 911, 119 or 112.</summary>
    public string EmergencyNumber { get; }

    /// <summary>The ids of the rules that fired, in rule order.</summary>
    public IReadOnlyList<string> TriggeredRuleIds { get; }

    /// <summary>A short instruction for the patient in English; apps usually show their own localized text.</summary>
    public string Message => $"Your answers suggest you may need emergency care. Call {EmergencyNumber} now.";

    /// <summary>Describes the advice by number and rule ids; it holds no answer values.</summary>
    /// <returns>The number and the triggered rule ids.</returns>
    public override string ToString() => $"EmergencyAdvice {{ Number = {EmergencyNumber}, Rules = [{string.Join(", ", TriggeredRuleIds)}] }}";
}
