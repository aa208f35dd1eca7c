namespace TelehealthMessaging.Intake;

/// <summary>The SNOMED CT codings offered for symptoms in the built-in intake.</summary>
public static class TelehealthSymptoms
{
    /// <summary>The SNOMED CT code system URI.</summary>
    public const string SnomedCt = "http://snomed.info/sct";

    /// <summary>Chest pain (29857009).</summary>
    public static Coding ChestPain { get; } = new(SnomedCt, "29857009", "Chest pain");

    /// <summary>Shortness of breath (267036007).</summary>
    public static Coding ShortnessOfBreath { get; } = new(SnomedCt, "267036007", "Shortness of breath");

    /// <summary>Fever (386661006).</summary>
    public static Coding Fever { get; } = new(SnomedCt, "386661006", "Fever");

    /// <summary>Cough (49727002).</summary>
    public static Coding Cough { get; } = new(SnomedCt, "49727002", "Cough");

    /// <summary>Headache (25064002).</summary>
    public static Coding Headache { get; } = new(SnomedCt, "25064002", "Headache");

    /// <summary>Abdominal pain (21522001).</summary>
    public static Coding AbdominalPain { get; } = new(SnomedCt, "21522001", "Abdominal pain");

    /// <summary>Nausea (422587007).</summary>
    public static Coding Nausea { get; } = new(SnomedCt, "422587007", "Nausea");

    /// <summary>Dizziness (404640003).</summary>
    public static Coding Dizziness { get; } = new(SnomedCt, "404640003", "Dizziness");

    /// <summary>Rash (271807003).</summary>
    public static Coding Rash { get; } = new(SnomedCt, "271807003", "Rash");

    /// <summary>Sore throat (162397003).</summary>
    public static Coding SoreThroat { get; } = new(SnomedCt, "162397003", "Sore throat");

    /// <summary>Fatigue (84229001).</summary>
    public static Coding Fatigue { get; } = new(SnomedCt, "84229001", "Fatigue");

    /// <summary>Muscle pain (68962001).</summary>
    public static Coding MusclePain { get; } = new(SnomedCt, "68962001", "Muscle pain");
}
