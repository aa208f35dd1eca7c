using System.Text.Json;
using TelehealthMessaging.Fhir;

namespace TelehealthMessaging.Intake;

internal enum ValueReadStatus
{
    Absent,
    Read,
    Malformed,
    Unsupported,
}

// Reads and writes FHIR value[x] choice elements (value*, answer*, initial value*) as IntakeAnswerValues. Messages
// produced by callers name the property only: the value itself may be health data.
internal static class FhirValueJson
{
    public static ValueReadStatus Read(JsonElement owner, string prefix, out IntakeAnswerValue? value, out string? property)
    {
        value = null;
        property = null;
        foreach (JsonProperty candidate in owner.EnumerateObject())
        {
            string name = candidate.Name;
            if (name.Length <= prefix.Length || !name.StartsWith(prefix, StringComparison.Ordinal) || !char.IsAsciiLetterUpper(name[prefix.Length]))
            {
                continue;
            }

            property = name;
            string type = name[prefix.Length..];
            ValueReadStatus? status = TryReadKind(type, candidate.Value, out value);
            return status ?? ValueReadStatus.Unsupported;
        }

        return ValueReadStatus.Absent;
    }

    private static ValueReadStatus? TryReadKind(string type, JsonElement json, out IntakeAnswerValue? value)
    {
        value = null;
        bool ok;
        switch (type)
        {
            case "Boolean":
                ok = json.ValueKind is JsonValueKind.True or JsonValueKind.False;
                value = ok ? new BooleanAnswer(json.GetBoolean()) : null;
                break;
            case "Decimal":
                decimal number = 0;
                ok = json.ValueKind == JsonValueKind.Number && json.TryGetDecimal(out number);
                value = ok ? new DecimalAnswer(number) : null;
                break;
            case "Integer":
                int integer = 0;
                ok = json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out integer);
                value = ok ? new IntegerAnswer(integer) : null;
                break;
            case "Date":
                ok = FhirFormat.TryParseDate(AsString(json), out DateOnly date);
                value = ok ? new DateAnswer(date) : null;
                break;
            case "DateTime":
                ok = FhirFormat.TryParseDateTime(AsString(json), out DateTimeOffset dateTime);
                value = ok ? new DateTimeAnswer(dateTime) : null;
                break;
            case "Time":
                ok = FhirFormat.TryParseTime(AsString(json), out TimeOnly time);
                value = ok ? new TimeAnswer(time) : null;
                break;
            case "String":
                string? text = AsString(json);
                ok = !string.IsNullOrEmpty(text);
                value = ok ? new StringAnswer(text!) : null;
                break;
            case "Uri":
            case "Url":
                ok = Uri.TryCreate(AsString(json), UriKind.Absolute, out Uri? uri);
                value = ok ? new UriAnswer(uri!) : null;
                break;
            case "Coding":
                Coding? coding = ReadCoding(json);
                ok = coding is not null;
                value = ok ? new CodingAnswer(coding!) : null;
                break;
            case "Quantity":
                Quantity? quantity = ReadQuantity(json);
                ok = quantity is not null;
                value = ok ? new QuantityAnswer(quantity!) : null;
                break;
            case "Attachment":
                AttachmentReference? attachment = ReadAttachment(json);
                ok = attachment is not null;
                value = ok ? new AttachmentAnswer(attachment!) : null;
                break;
            case "Reference":
                string? reference = json.ValueKind == JsonValueKind.Object ? OptionalString(json, "reference") : null;
                ok = !string.IsNullOrEmpty(reference);
                value = ok ? new ReferenceAnswer(reference!) : null;
                break;
            default:
                return null;
        }

        return ok ? ValueReadStatus.Read : ValueReadStatus.Malformed;
    }

    public static Coding? ReadCoding(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? code = OptionalString(json, "code");
        return string.IsNullOrEmpty(code) ? null : new Coding(OptionalString(json, "system"), code, OptionalString(json, "display"));
    }

    private static Quantity? ReadQuantity(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("value", out JsonElement number)
            || number.ValueKind != JsonValueKind.Number || !number.TryGetDecimal(out decimal amount))
        {
            return null;
        }

        return new Quantity(amount, OptionalString(json, "unit"), OptionalString(json, "system"), OptionalString(json, "code"));
    }

    // Reference only: inline data would put attachment bytes inside the intake, which the SDK does not carry.
    private static AttachmentReference? ReadAttachment(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object || json.TryGetProperty("data", out _)
            || !Uri.TryCreate(OptionalString(json, "url"), UriKind.Absolute, out Uri? url))
        {
            return null;
        }

        long? size = null;
        if (json.TryGetProperty("size", out JsonElement sizeJson))
        {
            if (sizeJson.ValueKind != JsonValueKind.Number || !sizeJson.TryGetInt64(out long s) || s < 0)
            {
                return null;
            }

            size = s;
        }

        return new AttachmentReference(url, OptionalString(json, "contentType"), size, OptionalString(json, "hash"), OptionalString(json, "title"));
    }

    public static string? OptionalString(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out JsonElement p) && p.ValueKind == JsonValueKind.String
            ? p.GetString()
            : null;

    private static string? AsString(JsonElement json) => json.ValueKind == JsonValueKind.String ? json.GetString() : null;

    public static void Write(Utf8JsonWriter writer, string prefix, IntakeAnswerValue value)
    {
        switch (value)
        {
            case BooleanAnswer b:
                writer.WriteBoolean(prefix + "Boolean", b.Value);
                break;
            case DecimalAnswer d:
                writer.WritePropertyName(prefix + "Decimal");
                writer.WriteRawValue(FhirFormat.Decimal(d.Value));
                break;
            case IntegerAnswer i:
                writer.WriteNumber(prefix + "Integer", i.Value);
                break;
            case DateAnswer date:
                writer.WriteString(prefix + "Date", FhirFormat.Date(date.Value));
                break;
            case DateTimeAnswer dateTime:
                writer.WriteString(prefix + "DateTime", FhirFormat.DateTime(dateTime.Value));
                break;
            case TimeAnswer time:
                writer.WriteString(prefix + "Time", FhirFormat.Time(time.Value));
                break;
            case StringAnswer s:
                writer.WriteString(prefix + "String", s.Value);
                break;
            case UriAnswer uri:
                writer.WriteString(prefix + "Uri", uri.Value.OriginalString);
                break;
            case CodingAnswer coding:
                writer.WritePropertyName(prefix + "Coding");
                WriteCoding(writer, coding.Value);
                break;
            case QuantityAnswer quantity:
                writer.WriteStartObject(prefix + "Quantity");
                writer.WritePropertyName("value");
                writer.WriteRawValue(FhirFormat.Decimal(quantity.Value.Value));
                WriteOptional(writer, "unit", quantity.Value.Unit);
                WriteOptional(writer, "system", quantity.Value.System);
                WriteOptional(writer, "code", quantity.Value.Code);
                writer.WriteEndObject();
                break;
            case AttachmentAnswer attachment:
                writer.WriteStartObject(prefix + "Attachment");
                WriteOptional(writer, "contentType", attachment.Value.ContentType);
                writer.WriteString("url", attachment.Value.Url.OriginalString);
                if (attachment.Value.Size is long size)
                {
                    // R4 Attachment.size is unsignedInt.
                    writer.WriteNumber("size", size);
                }

                WriteOptional(writer, "hash", attachment.Value.Hash);
                WriteOptional(writer, "title", attachment.Value.Title);
                writer.WriteEndObject();
                break;
            case ReferenceAnswer reference:
                writer.WriteStartObject(prefix + "Reference");
                writer.WriteString("reference", reference.Value);
                writer.WriteEndObject();
                break;
            default:
                throw new ArgumentException("Unsupported answer kind " + value.GetType().Name + ".", nameof(value));
        }
    }

    public static void WriteCoding(Utf8JsonWriter writer, Coding coding)
    {
        writer.WriteStartObject();
        WriteOptional(writer, "system", coding.System);
        writer.WriteString("code", coding.Code);
        WriteOptional(writer, "display", coding.Display);
        writer.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
