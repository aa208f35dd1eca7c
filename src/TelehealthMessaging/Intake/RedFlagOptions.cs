namespace TelehealthMessaging.Intake;

/// <summary>Configures <see cref="RedFlagEvaluator"/>.</summary>
public sealed class RedFlagOptions
{
    /// <summary>The region whose emergency number is given. Default: <see cref="EmergencyRegion.UnitedStates"/> (911).</summary>
    public EmergencyRegion Region { get; set; } = EmergencyRegion.UnitedStates;

    /// <summary>
    /// An emergency number that overrides the region's default (119 for Korea, 911 for the United States, 112 for the
    /// European Union), for deployments elsewhere. Default: <see langword="null"/>.
    /// </summary>
    public string? EmergencyNumber { get; set; }

    /// <summary>The rules to check. Default: <see cref="RedFlagRules.Defaults"/>.</summary>
    public IList<RedFlagRule> Rules { get; } = [.. RedFlagRules.Defaults];
}
