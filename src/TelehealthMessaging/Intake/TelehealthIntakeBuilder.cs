namespace TelehealthMessaging.Intake;

/// <summary>Administrative sex, as FHIR's <c>administrative-gender</c> value set.</summary>
public enum AdministrativeSex
{
    /// <summary>female</summary>
    Female,

    /// <summary>male</summary>
    Male,

    /// <summary>other</summary>
    Other,

    /// <summary>unknown</summary>
    Unknown,
}

/// <summary>The answer to the built-in intake's pregnancy question.</summary>
public enum PregnancyStatus
{
    /// <summary>Pregnant (SNOMED CT 77386006).</summary>
    Pregnant,

    /// <summary>Not pregnant (SNOMED CT 60001007).</summary>
    NotPregnant,

    /// <summary>Does not know (v3 NullFlavor UNK).</summary>
    Unknown,
}

/// <summary>The unit of a <see cref="SymptomDuration"/>.</summary>
public enum DurationUnit
{
    /// <summary>Hours (UCUM <c>h</c>).</summary>
    Hours,

    /// <summary>Days (UCUM <c>d</c>).</summary>
    Days,

    /// <summary>Weeks (UCUM <c>wk</c>).</summary>
    Weeks,

    /// <summary>Months (UCUM <c>mo</c>).</summary>
    Months,
}

/// <summary>How long a symptom has lasted.</summary>
/// <param name="Value">The amount, zero or more.</param>
/// <param name="Unit">The unit.</param>
public readonly record struct SymptomDuration(decimal Value, DurationUnit Unit)
{
    /// <summary>A duration in hours.</summary>
    /// <param name="value">The number of hours.</param>
    /// <returns>The duration.</returns>
    public static SymptomDuration Hours(decimal value) => new(value, DurationUnit.Hours);

    /// <summary>A duration in days.</summary>
    /// <param name="value">The number of days.</param>
    /// <returns>The duration.</returns>
    public static SymptomDuration Days(decimal value) => new(value, DurationUnit.Days);

    /// <summary>A duration in weeks.</summary>
    /// <param name="value">The number of weeks.</param>
    /// <returns>The duration.</returns>
    public static SymptomDuration Weeks(decimal value) => new(value, DurationUnit.Weeks);

    /// <summary>A duration in months.</summary>
    /// <param name="value">The number of months.</param>
    /// <returns>The duration.</returns>
    public static SymptomDuration Months(decimal value) => new(value, DurationUnit.Months);

    /// <summary>Describes the duration without its amount (a symptom's duration is health data).</summary>
    /// <returns>The unit only.</returns>
    public override string ToString() => $"SymptomDuration {{ Unit = {Unit} }}";
}

/// <summary>One symptom reported in the built-in intake.</summary>
public sealed class SymptomReport
{
    /// <summary>A symptom from a code system, usually one of <see cref="TelehealthSymptoms"/>.</summary>
    /// <param name="symptom">The symptom's coding.</param>
    /// <param name="severity">Severity from 0 (none) to 10 (worst imaginable); the form validates the range.</param>
    public SymptomReport(Coding symptom, int severity)
    {
        ArgumentNullException.ThrowIfNull(symptom);
        Symptom = symptom;
        Severity = severity;
    }

    /// <summary>A symptom in the patient's own words, when no listed symptom fits.</summary>
    /// <param name="description">The patient's description.</param>
    /// <param name="severity">Severity from 0 (none) to 10 (worst imaginable); the form validates the range.</param>
    public SymptomReport(string description, int severity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        Description = description;
        Severity = severity;
    }

    /// <summary>The coded symptom, or <see langword="null"/> when described in words.</summary>
    public Coding? Symptom { get; }

    /// <summary>The patient's description, or <see langword="null"/> when coded.</summary>
    public string? Description { get; }

    /// <summary>Severity from 0 to 10.</summary>
    public int Severity { get; }

    /// <summary>When the symptom started, if known.</summary>
    public DateOnly? Onset { get; init; }

    /// <summary>How long it has lasted, if known.</summary>
    public SymptomDuration? Duration { get; init; }

    /// <summary>Describes the report without its contents.</summary>
    /// <returns>A redacted description.</returns>
    public override string ToString() => "SymptomReport { <redacted> }";
}

/// <summary>
/// Fills the built-in <see cref="TelehealthIntake"/> without linkIds. Set what the patient entered, then call
/// <see cref="ToAnswers"/> and validate or submit the answers as for any form. Not thread-safe.
/// </summary>
/// <example>
/// <code>
/// var intake = new TelehealthIntakeBuilder
/// {
///     GivenName = "Minji", FamilyName = "Kim", BirthDate = new DateOnly(1990, 2, 3),
///     Sex = AdministrativeSex.Female, Phone = "+82 10-1234-5678", PreferredLanguage = "ko",
///     ChiefComplaint = "Chest tightness since this morning",
///     HasAllergies = false, TakesMedications = false, Pregnancy = PregnancyStatus.NotPregnant,
///     ConsentToTelehealth = true, ConsentToDataProcessing = true,
/// };
/// intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ChestPain, severity: 6) { Duration = SymptomDuration.Hours(5) });
/// IntakeAnswers answers = intake.ToAnswers();
/// </code>
/// </example>
public sealed class TelehealthIntakeBuilder
{
    /// <summary>Given name.</summary>
    public string? GivenName { get; set; }

    /// <summary>Family name.</summary>
    public string? FamilyName { get; set; }

    /// <summary>Date of birth.</summary>
    public DateOnly? BirthDate { get; set; }

    /// <summary>Administrative sex.</summary>
    public AdministrativeSex? Sex { get; set; }

    /// <summary>
    /// Phone number in international (E.164) form. Spaces, dashes, dots and parentheses are removed; the form then
    /// requires <c>+</c> and 8 to 15 digits.
    /// </summary>
    public string? Phone { get; set; }

    /// <summary>Preferred language as a BCP-47 code such as <c>ko</c> or <c>en</c>.</summary>
    public string? PreferredLanguage { get; set; }

    /// <summary>The main reason for the visit, in the patient's words.</summary>
    public string? ChiefComplaint { get; set; }

    /// <summary>The symptoms, one report each.</summary>
    public IList<SymptomReport> Symptoms { get; } = [];

    /// <summary>
    /// Whether the patient has allergies. When left <see langword="null"/>, it is taken as <see langword="true"/> if
    /// <see cref="Allergies"/> lists any and as unanswered otherwise.
    /// </summary>
    public bool? HasAllergies { get; set; }

    /// <summary>Allergies, one entry each (substance and reaction).</summary>
    public IList<string> Allergies { get; } = [];

    /// <summary>
    /// Whether the patient takes medication. When left <see langword="null"/>, it is taken as <see langword="true"/>
    /// if <see cref="Medications"/> lists any and as unanswered otherwise.
    /// </summary>
    public bool? TakesMedications { get; set; }

    /// <summary>Current medications, one entry each (name and dose).</summary>
    public IList<string> Medications { get; } = [];

    /// <summary>Pregnancy status; the form asks it unless <see cref="Sex"/> is male.</summary>
    public PregnancyStatus? Pregnancy { get; set; }

    /// <summary>Consent to receive care through telehealth.</summary>
    public bool? ConsentToTelehealth { get; set; }

    /// <summary>Consent to the processing of health data.</summary>
    public bool? ConsentToDataProcessing { get; set; }

    /// <summary>
    /// Writes what was set into answers to <see cref="TelehealthIntake.Form"/>. Nothing is validated here: call
    /// <see cref="IntakeAnswers.Validate"/> or submit the answers, which report every problem by linkId.
    /// </summary>
    /// <returns>New answers to the built-in form.</returns>
    public IntakeAnswers ToAnswers()
    {
        var answers = IntakeAnswers.Create(TelehealthIntake.Form);
        SetIfPresent(answers, TelehealthIntake.LinkIds.GivenName, GivenName);
        SetIfPresent(answers, TelehealthIntake.LinkIds.FamilyName, FamilyName);
        if (BirthDate is DateOnly birthDate)
        {
            answers.SetDate(TelehealthIntake.LinkIds.BirthDate, birthDate);
        }

        if (Sex is AdministrativeSex sex)
        {
            answers.SetChoice(TelehealthIntake.LinkIds.Sex, SexCode(sex));
        }

        SetIfPresent(answers, TelehealthIntake.LinkIds.Phone, Phone is null ? null : NormalizePhone(Phone));
        if (!string.IsNullOrWhiteSpace(PreferredLanguage))
        {
            // A listed language is answered with its coding; any other BCP-47 tag as free text (open-choice).
            IntakeItem language = TelehealthIntake.Form.GetItem(TelehealthIntake.LinkIds.PreferredLanguage);
            Coding? listed = language.AnswerOptions
                .Select(o => (o.Value as CodingAnswer)?.Value)
                .FirstOrDefault(c => string.Equals(c?.Code, PreferredLanguage, StringComparison.OrdinalIgnoreCase));
            answers.Set(TelehealthIntake.LinkIds.PreferredLanguage, listed is null ? new StringAnswer(PreferredLanguage) : new CodingAnswer(listed));
        }

        SetIfPresent(answers, TelehealthIntake.LinkIds.ChiefComplaint, ChiefComplaint);
        foreach (SymptomReport report in Symptoms)
        {
            ArgumentNullException.ThrowIfNull(report, nameof(Symptoms));
            IntakeGroupAnswers symptom = answers.AddGroup(TelehealthIntake.LinkIds.Symptoms);
            symptom.Set(TelehealthIntake.LinkIds.SymptomCode, report.Symptom is { } coding ? new CodingAnswer(coding) : new StringAnswer(report.Description!));
            symptom.SetInteger(TelehealthIntake.LinkIds.SymptomSeverity, report.Severity);
            if (report.Onset is DateOnly onset)
            {
                symptom.SetDate(TelehealthIntake.LinkIds.SymptomOnset, onset);
            }

            if (report.Duration is SymptomDuration duration)
            {
                symptom.SetQuantity(TelehealthIntake.LinkIds.SymptomDuration, duration.Value, UnitCoding(duration.Unit));
            }
        }

        SetList(answers, TelehealthIntake.LinkIds.HasAllergies, TelehealthIntake.LinkIds.Allergies, HasAllergies, Allergies);
        SetList(answers, TelehealthIntake.LinkIds.TakesMedications, TelehealthIntake.LinkIds.Medications, TakesMedications, Medications);
        if (Pregnancy is PregnancyStatus pregnancy)
        {
            answers.SetChoice(TelehealthIntake.LinkIds.PregnancyStatus, PregnancyCode(pregnancy));
        }

        if (ConsentToTelehealth is bool telehealth)
        {
            answers.SetBoolean(TelehealthIntake.LinkIds.ConsentToTelehealth, telehealth);
        }

        if (ConsentToDataProcessing is bool processing)
        {
            answers.SetBoolean(TelehealthIntake.LinkIds.ConsentToDataProcessing, processing);
        }

        return answers;
    }

    /// <summary>Describes the builder without any of the patient's entries.</summary>
    /// <returns>A redacted description.</returns>
    public override string ToString() => $"TelehealthIntakeBuilder {{ Symptoms = {Symptoms.Count}, <redacted> }}";

    private static void SetIfPresent(IntakeAnswers answers, string linkId, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            answers.SetString(linkId, value.Trim());
        }
    }

    private static void SetList(IntakeAnswers answers, string flagLinkId, string listLinkId, bool? flag, IList<string> entries)
    {
        bool? any = flag ?? (entries.Count > 0 ? true : null);
        if (any is bool value)
        {
            answers.SetBoolean(flagLinkId, value);
        }

        foreach (string entry in entries)
        {
            if (!string.IsNullOrWhiteSpace(entry))
            {
                answers.Add(listLinkId, new StringAnswer(entry.Trim()));
            }
        }
    }

    private static string NormalizePhone(string phone) =>
        string.Concat(phone.Where(c => c is not (' ' or '-' or '.' or '(' or ')')));

    private static string SexCode(AdministrativeSex sex) => sex switch
    {
        AdministrativeSex.Female => "female",
        AdministrativeSex.Male => "male",
        AdministrativeSex.Other => "other",
        AdministrativeSex.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(sex), "Sex is not a defined AdministrativeSex value."),
    };

    private static string PregnancyCode(PregnancyStatus status) => status switch
    {
        PregnancyStatus.Pregnant => "77386006",
        PregnancyStatus.NotPregnant => "60001007",
        PregnancyStatus.Unknown => "UNK",
        _ => throw new ArgumentOutOfRangeException(nameof(status), "Pregnancy is not a defined PregnancyStatus value."),
    };

    private static Coding UnitCoding(DurationUnit unit)
    {
        string code = unit switch
        {
            DurationUnit.Hours => "h",
            DurationUnit.Days => "d",
            DurationUnit.Weeks => "wk",
            DurationUnit.Months => "mo",
            _ => throw new ArgumentOutOfRangeException(nameof(unit), "The duration unit is not a defined DurationUnit value."),
        };
        return TelehealthIntake.Form.GetItem(TelehealthIntake.LinkIds.SymptomDuration).UnitOptions.First(u => u.Code == code);
    }
}
