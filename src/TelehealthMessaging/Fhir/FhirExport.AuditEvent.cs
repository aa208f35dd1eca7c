using System.Text.Json;
using TelehealthMessaging.Compliance;

namespace TelehealthMessaging.Fhir;

public static partial class FhirExport
{
    /// <summary>The naming system of <see cref="UserId"/> values in exported audit events.</summary>
    internal const string UserIdSystem = "https://telehealthmessaging.github.io/fhir/NamingSystem/user-id";

    /// <summary>The naming system of <see cref="ConversationId"/> values in exported audit events.</summary>
    internal const string ConversationIdSystem = "https://telehealthmessaging.github.io/fhir/NamingSystem/conversation-id";

    /// <summary>The code system of callback transitions in <c>AuditEvent.subtype</c>.</summary>
    internal const string CallbackActionSystem = "https://telehealthmessaging.github.io/fhir/CodeSystem/callback-action";

    private const string DicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
    private const string AuditEntityTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
    private const string SecuritySourceTypeSystem = "http://terminology.hl7.org/CodeSystem/security-source-type";

    /// <summary>
    /// Exports audit records as a FHIR R4 <c>Bundle</c> of type <c>collection</c> holding one <c>AuditEvent</c> each,
    /// in log order; each entry's <c>fullUrl</c> is a <c>urn:uuid:</c> derived from the record's chain hash.
    /// </summary>
    /// <param name="records">The records, for example from <see cref="AuditLog.ReadAllAsync"/>.</param>
    /// <returns>The Bundle JSON.</returns>
    /// <remarks>See <see cref="ToAuditEvent"/> for how each record maps.</remarks>
    public static string ToAuditEventBundle(IEnumerable<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        List<AuditRecord> list = records.ToList();
        if (list.Any(r => r is null))
        {
            throw new ArgumentException("The records must not contain null.", nameof(records));
        }

        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "Bundle");
            writer.WriteString("type", "collection");
            if (list.Count > 0)
            {
                writer.WriteStartArray("entry");
                foreach (AuditRecord record in list)
                {
                    writer.WriteStartObject();
                    writer.WriteString("fullUrl", "urn:uuid:" + new Guid(record.HashBytes.AsSpan(0, 16)).ToString("D"));
                    writer.WriteStartObject("resource");
                    WriteAuditEvent(writer, record);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }
        });
    }

    /// <summary>Exports one audit record as a FHIR R4 <c>AuditEvent</c>.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The AuditEvent JSON. Its id is the first 32 hex digits of the record's chain hash.</returns>
    /// <remarks>
    /// <para>
    /// <c>type</c> and <c>subtype</c> use DICOM audit event codes (the R4 audit-event-type and audit-event-sub-type
    /// value sets): device and key events are <c>110113</c> Security Alert (subtype <c>110137</c> User Security
    /// Attributes Changed, or <c>110126</c> Node Authentication for a verified safety number); intake, message,
    /// callback, consent and erasure events are <c>110110</c> Patient Record; exports are <c>110106</c> Export;
    /// store lock and unlock are <c>110114</c> User Authentication (subtype <c>110123</c> Logout / <c>110122</c> Login);
    /// the relay's clinic joins and leaves are <c>110113</c>/<c>110137</c>, its prekey bundle claims <c>110113</c>, and
    /// its work-item claims <c>110110</c>.
    /// A callback transition or consent purpose is an additional <c>subtype</c> coding from the SDK's code systems.
    /// <c>action</c> is C (registered, submitted, sent, granted), R (viewed, read, exported), U (key changed,
    /// transition, withdrawn, work item claimed), D (revoked, erased, purged, clinic left) or E (verified, locked,
    /// unlocked); clinic joined is C and prekey bundle claimed R.
    /// </para>
    /// <para>
    /// <c>outcome</c>: 0 success, 4 denied (minor failure), 8 failed (serious failure). The agent is the acting user,
    /// referenced by identifier; the source observer is the device. Each subject is an <c>entity</c> whose
    /// <c>what</c> references it by id (<c>QuestionnaireResponse/</c>, <c>Communication/</c>,
    /// <c>CommunicationRequest/</c>, <c>Device/</c>, <c>Organization/</c>, <c>Consent/</c>, <c>Task/</c> for work
    /// items, or an identifier for users and conversations). A record's <see cref="AuditRecord.Count"/> is one more
    /// entity (System Object) whose <c>detail</c> of type <c>count</c> holds the number. No text, no health data.
    /// </para>
    /// </remarks>
    public static string ToAuditEvent(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return FhirJson.Build(writer => WriteAuditEvent(writer, record));
    }

    private static void WriteAuditEvent(Utf8JsonWriter writer, AuditRecord record)
    {
        (string typeCode, string typeDisplay, string? subtypeCode, string? subtypeDisplay, string action) = AuditEventCodes(record.Action);
        writer.WriteString("resourceType", "AuditEvent");
        writer.WriteString("id", Convert.ToHexString(record.HashBytes, 0, 16).ToLowerInvariant());
        writer.WriteStartObject("type");
        writer.WriteString("system", DicomSystem);
        writer.WriteString("code", typeCode);
        writer.WriteString("display", typeDisplay);
        writer.WriteEndObject();
        if (subtypeCode is not null || record.Code is not null)
        {
            writer.WriteStartArray("subtype");
            if (subtypeCode is not null)
            {
                Coding(writer, DicomSystem, subtypeCode, subtypeDisplay!);
            }

            if (record.Code is { } code)
            {
                string system = code.Kind == AuditCodeKind.CallbackAction ? CallbackActionSystem : ConsentPurposeCodes.System;
                Coding(writer, system, code.Code, null);
            }

            writer.WriteEndArray();
        }

        writer.WriteString("action", action);
        writer.WriteString("recorded", FhirFormat.DateTime(record.RecordedAt));
        writer.WriteString("outcome", record.Outcome switch
        {
            AuditOutcome.Success => "0",
            AuditOutcome.Denied => "4",
            _ => "8",
        });

        writer.WriteStartArray("agent");
        writer.WriteStartObject();
        writer.WriteStartObject("who");
        IdentifierReferenceBody(writer, UserIdSystem, record.Actor.Value);
        writer.WriteEndObject();
        writer.WriteBoolean("requestor", true);
        writer.WriteEndObject();
        writer.WriteEndArray();

        writer.WriteStartObject("source");
        FhirJson.Reference(writer, "observer", "Device/" + record.Device.Value);
        writer.WriteStartArray("type");
        Coding(writer, SecuritySourceTypeSystem, "1", "User Device");
        writer.WriteEndArray();
        writer.WriteEndObject();

        if (record.Subjects.Count > 0 || record.Count is not null)
        {
            writer.WriteStartArray("entity");
            foreach (AuditSubject subject in record.Subjects)
            {
                writer.WriteStartObject();
                writer.WriteStartObject("what");
                string? resourceType = subject.Kind switch
                {
                    AuditSubjectKind.Device => "Device",
                    AuditSubjectKind.Message => "Communication",
                    AuditSubjectKind.IntakeSubmission => "QuestionnaireResponse",
                    AuditSubjectKind.CallbackRequest => "CommunicationRequest",
                    AuditSubjectKind.Clinic => "Organization",
                    AuditSubjectKind.Consent => "Consent",
                    AuditSubjectKind.WorkItem => "Task",
                    _ => null,
                };
                if (resourceType is not null)
                {
                    writer.WriteString("reference", resourceType + "/" + subject.Id);
                }
                else
                {
                    IdentifierReferenceBody(writer, subject.Kind == AuditSubjectKind.User ? UserIdSystem : ConversationIdSystem, subject.Id);
                }

                writer.WriteEndObject();
                writer.WriteStartObject("type");
                bool person = subject.Kind == AuditSubjectKind.User;
                writer.WriteString("system", AuditEntityTypeSystem);
                writer.WriteString("code", person ? "1" : "2");
                writer.WriteString("display", person ? "Person" : "System Object");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            if (record.Count is long count)
            {
                CountEntity(writer, count);
            }

            writer.WriteEndArray();
        }
    }

    // The count has no place of its own in AuditEvent: it travels as the detail of an entity standing for the affected items.
    private static void CountEntity(Utf8JsonWriter writer, long count)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("type");
        writer.WriteString("system", AuditEntityTypeSystem);
        writer.WriteString("code", "2");
        writer.WriteString("display", "System Object");
        writer.WriteEndObject();
        writer.WriteStartArray("detail");
        writer.WriteStartObject();
        writer.WriteString("type", "count");
        writer.WriteString("valueString", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void Coding(Utf8JsonWriter writer, string system, string code, string? display)
    {
        writer.WriteStartObject();
        writer.WriteString("system", system);
        writer.WriteString("code", code);
        if (display is not null)
        {
            writer.WriteString("display", display);
        }

        writer.WriteEndObject();
    }

    private static void IdentifierReferenceBody(Utf8JsonWriter writer, string system, string value)
    {
        writer.WriteStartObject("identifier");
        writer.WriteString("system", system);
        writer.WriteString("value", value);
        writer.WriteEndObject();
    }

    private static (string Type, string TypeDisplay, string? Subtype, string? SubtypeDisplay, string Action) AuditEventCodes(AuditAction action) => action switch
    {
        AuditAction.DeviceRegistered => ("110113", "Security Alert", "110137", "User Security Attributes Changed", "C"),
        AuditAction.IdentityKeyChanged => ("110113", "Security Alert", "110137", "User Security Attributes Changed", "U"),
        AuditAction.SafetyNumberVerified => ("110113", "Security Alert", "110126", "Node Authentication", "E"),
        AuditAction.DeviceRevoked => ("110113", "Security Alert", "110137", "User Security Attributes Changed", "D"),
        AuditAction.IntakeSubmitted => ("110110", "Patient Record", null, null, "C"),
        AuditAction.IntakeViewed => ("110110", "Patient Record", null, null, "R"),
        AuditAction.IntakeExported => ("110106", "Export", null, null, "R"),
        AuditAction.MessageSent => ("110110", "Patient Record", null, null, "C"),
        AuditAction.MessageRead => ("110110", "Patient Record", null, null, "R"),
        AuditAction.CallbackTransition => ("110110", "Patient Record", null, null, "U"),
        AuditAction.ConsentGranted => ("110110", "Patient Record", null, null, "C"),
        AuditAction.ConsentWithdrawn => ("110110", "Patient Record", null, null, "U"),
        AuditAction.DataErased => ("110110", "Patient Record", null, null, "D"),
        AuditAction.RetentionPurge => ("110110", "Patient Record", null, null, "D"),
        AuditAction.ExportMade => ("110106", "Export", null, null, "R"),
        AuditAction.StoreLocked => ("110114", "User Authentication", "110123", "Logout", "E"),
        AuditAction.StoreUnlocked => ("110114", "User Authentication", "110122", "Login", "E"),
        AuditAction.ClinicJoined => ("110113", "Security Alert", "110137", "User Security Attributes Changed", "C"),
        AuditAction.ClinicLeft => ("110113", "Security Alert", "110137", "User Security Attributes Changed", "D"),
        AuditAction.WorkItemClaimed => ("110110", "Patient Record", null, null, "U"),
        AuditAction.PrekeyBundleClaimed => ("110113", "Security Alert", null, null, "R"),
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };
}
