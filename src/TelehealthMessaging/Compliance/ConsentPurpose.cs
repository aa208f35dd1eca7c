namespace TelehealthMessaging.Compliance;

/// <summary>What a consent allows. Each purpose is granted and withdrawn on its own.</summary>
public enum ConsentPurpose
{
    /// <summary>Receiving care by telehealth (messaging, intakes, callbacks).</summary>
    TelehealthTreatment = 1,

    /// <summary>
    /// Processing of health data, a special category of personal data that needs its own, separate consent
    /// (Korea PIPA Art. 23, GDPR Art. 9(2)(a)).
    /// </summary>
    HealthDataProcessing = 2,

    /// <summary>Transfer of personal data to another country (PIPA Art. 28-8, GDPR Chapter V).</summary>
    CrossBorderTransfer = 3,

    /// <summary>Use of the data for research.</summary>
    Research = 4,
}

internal static class ConsentPurposeCodes
{
    // The code system of ConsentPurpose in exported resources; its codes are the kebab-case names below.
    public const string System = "https://telehealthmessaging.github.io/fhir/CodeSystem/consent-purpose";

    public static string ToCode(this ConsentPurpose purpose) => purpose switch
    {
        ConsentPurpose.TelehealthTreatment => "telehealth-treatment",
        ConsentPurpose.HealthDataProcessing => "health-data-processing",
        ConsentPurpose.CrossBorderTransfer => "cross-border-transfer",
        ConsentPurpose.Research => "research",
        _ => throw new ArgumentOutOfRangeException(nameof(purpose)),
    };

    public static string ToDisplay(this ConsentPurpose purpose) => purpose switch
    {
        ConsentPurpose.TelehealthTreatment => "Telehealth treatment",
        ConsentPurpose.HealthDataProcessing => "Processing of health data",
        ConsentPurpose.CrossBorderTransfer => "Cross-border transfer",
        ConsentPurpose.Research => "Research",
        _ => throw new ArgumentOutOfRangeException(nameof(purpose)),
    };
}
