namespace TelehealthMessaging.Intake;

/// <summary>
/// The intake built into the SDK, shipped as a FHIR R4 Questionnaire inside the package: personal information,
/// chief complaint, symptoms (onset, severity 0–10, duration), allergies, current medications, pregnancy, and consent
/// to telehealth and to the processing of health data. Fill it with <see cref="TelehealthIntakeBuilder"/>.
/// </summary>
public static class TelehealthIntake
{
    /// <summary>The Questionnaire's canonical URL.</summary>
    public const string Url = "https://telehealthmessaging.github.io/fhir/Questionnaire/telehealth-intake";

    private static readonly Lazy<IntakeForm> LazyForm = new(Load);

    /// <summary>The built-in form, loaded once from the package.</summary>
    public static IntakeForm Form => LazyForm.Value;

    private static IntakeForm Load()
    {
        const string Name = "TelehealthMessaging.Intake.telehealth-intake.json";
        using Stream stream = typeof(TelehealthIntake).Assembly.GetManifestResourceStream(Name)
            ?? throw new InvalidOperationException($"The package is missing its embedded resource {Name}.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return IntakeForm.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>The linkIds of the built-in form, for reading submitted answers without a builder.</summary>
    public static class LinkIds
    {
        /// <summary>Group: personal information.</summary>
        public const string Patient = "patient";

        /// <summary>Given name (string; maps to Patient.name.given).</summary>
        public const string GivenName = "patient.given-name";

        /// <summary>Family name (string; maps to Patient.name.family).</summary>
        public const string FamilyName = "patient.family-name";

        /// <summary>Date of birth (date; maps to Patient.birthDate).</summary>
        public const string BirthDate = "patient.birth-date";

        /// <summary>Administrative sex (choice of http://hl7.org/fhir/administrative-gender; maps to Patient.gender).</summary>
        public const string Sex = "patient.sex";

        /// <summary>Phone number in E.164 (string; maps to Patient.telecom).</summary>
        public const string Phone = "patient.phone";

        /// <summary>Preferred language (open-choice of BCP-47 codes; maps to Patient.communication.language).</summary>
        public const string PreferredLanguage = "patient.language";

        /// <summary>Chief complaint (text).</summary>
        public const string ChiefComplaint = "chief-complaint";

        /// <summary>Repeating group: one instance per symptom.</summary>
        public const string Symptoms = "symptoms";

        /// <summary>The symptom (open-choice of SNOMED CT codes, or free text).</summary>
        public const string SymptomCode = "symptom.code";

        /// <summary>When the symptom started (date).</summary>
        public const string SymptomOnset = "symptom.onset";

        /// <summary>Severity from 0 to 10 (integer).</summary>
        public const string SymptomSeverity = "symptom.severity";

        /// <summary>How long the symptom has lasted (quantity in h, d, wk or mo).</summary>
        public const string SymptomDuration = "symptom.duration";

        /// <summary>Whether the patient has any allergies (boolean).</summary>
        public const string HasAllergies = "allergies.any";

        /// <summary>Allergies, one per answer (string, repeats; enabled when <see cref="HasAllergies"/> is true).</summary>
        public const string Allergies = "allergies.list";

        /// <summary>Whether the patient takes any medication (boolean).</summary>
        public const string TakesMedications = "medications.any";

        /// <summary>Medications, one per answer (string, repeats; enabled when <see cref="TakesMedications"/> is true).</summary>
        public const string Medications = "medications.list";

        /// <summary>Pregnancy status (choice; enabled unless <see cref="Sex"/> is male).</summary>
        public const string PregnancyStatus = "pregnancy.status";

        /// <summary>Consent to receive care through telehealth (boolean).</summary>
        public const string ConsentToTelehealth = "consent.telehealth";

        /// <summary>Consent to the processing of health data (boolean).</summary>
        public const string ConsentToDataProcessing = "consent.data-processing";
    }
}
