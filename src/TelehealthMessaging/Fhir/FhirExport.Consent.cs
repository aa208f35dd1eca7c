using TelehealthMessaging.Compliance;

namespace TelehealthMessaging.Fhir;

public static partial class FhirExport
{
    /// <summary>The base of the policy URIs of exported consents: <c>{base}/{purpose}/{noticeVersion}</c>.</summary>
    internal const string ConsentNoticeBase = "https://telehealthmessaging.github.io/fhir/consent-notice";

    private const string ConsentScopeSystem = "http://terminology.hl7.org/CodeSystem/consentscope";
    private const string LoincSystem = "http://loinc.org";

    /// <summary>Exports a consent record as a FHIR R4 <c>Consent</c>.</summary>
    /// <param name="record">The record, from <see cref="ConsentLedger.GetHistoryAsync"/>.</param>
    /// <returns>The Consent JSON; its id is the record's id.</returns>
    /// <remarks>
    /// Scope <c>patient-privacy</c>; category LOINC <c>59284-0</c> Patient Consent plus the purpose from the SDK's
    /// consent-purpose code system; patient <c>Patient/{subject}</c>; dateTime the grant time; policy
    /// <c>https://telehealthmessaging.github.io/fhir/consent-notice/{purpose}/{noticeVersion}</c>. The provision
    /// permits from the grant; for a withdrawn consent the status is <c>inactive</c>, the permit period ends at the
    /// withdrawal and a nested <c>deny</c> provision starts there.
    /// </remarks>
    public static string ToConsent(ConsentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        string purpose = record.Purpose.ToCode();
        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "Consent");
            writer.WriteString("id", record.Id);
            writer.WriteString("status", record.IsActive ? "active" : "inactive");
            FhirJson.CodeableConcept(writer, ConsentScopeSystem, "patient-privacy", "Privacy Consent", "scope");
            writer.WriteStartArray("category");
            FhirJson.CodeableConcept(writer, LoincSystem, "59284-0", "Patient Consent");
            FhirJson.CodeableConcept(writer, ConsentPurposeCodes.System, purpose, record.Purpose.ToDisplay());
            writer.WriteEndArray();
            FhirJson.Reference(writer, "patient", "Patient/" + record.Subject.Value);
            writer.WriteString("dateTime", FhirFormat.DateTime(record.GrantedAt));
            writer.WriteStartArray("policy");
            writer.WriteStartObject();
            writer.WriteString("uri", $"{ConsentNoticeBase}/{purpose}/{record.NoticeVersion}");
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartObject("provision");
            writer.WriteString("type", "permit");
            FhirJson.Period(writer, "period", record.GrantedAt, record.WithdrawnAt);
            if (record.WithdrawnAt is { } withdrawn)
            {
                writer.WriteStartArray("provision");
                writer.WriteStartObject();
                writer.WriteString("type", "deny");
                FhirJson.Period(writer, "period", withdrawn, null);
                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        });
    }
}
