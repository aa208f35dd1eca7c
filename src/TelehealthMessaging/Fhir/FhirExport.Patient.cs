using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Fhir;

public static partial class FhirExport
{
    private const string PatientDefinition = "http://hl7.org/fhir/StructureDefinition/Patient#Patient.";

    /// <summary>
    /// Writes the personal information in <paramref name="submission"/> as a FHIR R4 Patient, by definition-based
    /// extraction (SDC): every enabled question outside repeating groups whose <c>definition</c> is one of
    /// <c>Patient#Patient.name.given</c>, <c>.name.family</c>, <c>.birthDate</c>, <c>.gender</c>,
    /// <c>.telecom.value</c> or <c>.communication.language</c> fills that element. The built-in
    /// <see cref="TelehealthIntake"/> defines all of them; any clinic form that uses the same definitions works too.
    /// </summary>
    /// <param name="submission">The submitted intake.</param>
    /// <returns>The Patient JSON. Its id is the subject's id when the subject is <c>Patient/{id}</c>, else the submission id.</returns>
    public static string ToPatient(IntakeSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        IReadOnlyList<IntakeAnswerValue> Answers(string element) =>
            submission.Form.AllItems
                .Where(i => i.IsQuestion && string.Equals(i.Definition, PatientDefinition + element, StringComparison.Ordinal))
                .SelectMany(i => submission.Root.AnswersOf(i.LinkId))
                .ToList();

        var given = Answers("name.given").OfType<StringAnswer>().Select(a => a.Value).ToList();
        string? family = Answers("name.family").OfType<StringAnswer>().Select(a => a.Value).FirstOrDefault();
        DateOnly? birthDate = Answers("birthDate").OfType<DateAnswer>().Select(a => (DateOnly?)a.Value).FirstOrDefault();
        string? gender = Answers("gender").Select(a => a switch
        {
            CodingAnswer c => c.Value.Code,
            StringAnswer s => s.Value,
            _ => null,
        }).FirstOrDefault(g => g is "male" or "female" or "other" or "unknown");
        var phones = Answers("telecom.value").OfType<StringAnswer>().Select(a => a.Value).ToList();
        var languages = Answers("communication.language").ToList();

        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "Patient");
            writer.WriteString("id", PatientId(submission));
            if (given.Count > 0 || family is not null)
            {
                writer.WriteStartArray("name");
                writer.WriteStartObject();
                writer.WriteString("use", "official");
                if (family is not null)
                {
                    writer.WriteString("family", family);
                }

                if (given.Count > 0)
                {
                    writer.WriteStartArray("given");
                    given.ForEach(writer.WriteStringValue);
                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            if (phones.Count > 0)
            {
                writer.WriteStartArray("telecom");
                foreach (string phone in phones)
                {
                    writer.WriteStartObject();
                    writer.WriteString("system", "phone");
                    writer.WriteString("value", phone);
                    writer.WriteString("use", "mobile");
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            if (gender is not null)
            {
                writer.WriteString("gender", gender);
            }

            if (birthDate is DateOnly date)
            {
                writer.WriteString("birthDate", FhirFormat.Date(date));
            }

            if (languages.Count > 0)
            {
                writer.WriteStartArray("communication");
                foreach (IntakeAnswerValue language in languages)
                {
                    writer.WriteStartObject();
                    writer.WriteStartObject("language");
                    if (language is CodingAnswer coded)
                    {
                        writer.WriteStartArray("coding");
                        writer.WriteStartObject();
                        if (coded.Value.System is string system)
                        {
                            writer.WriteString("system", system);
                        }

                        writer.WriteString("code", coded.Value.Code);
                        if (coded.Value.Display is string display)
                        {
                            writer.WriteString("display", display);
                        }

                        writer.WriteEndObject();
                        writer.WriteEndArray();
                    }
                    else if (language is StringAnswer text)
                    {
                        writer.WriteString("text", text.Value);
                    }

                    writer.WriteEndObject();
                    writer.WriteBoolean("preferred", true);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

        });
    }

    private static string PatientId(IntakeSubmission submission)
    {
        const string Prefix = "Patient/";
        string? subject = submission.Subject;
        if (subject is not null && subject.StartsWith(Prefix, StringComparison.Ordinal) && Identifier.IsValid(subject[Prefix.Length..]))
        {
            return subject[Prefix.Length..];
        }

        return submission.Id.Value;
    }
}
