using System.Text.Json;
using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Fhir;

// Writing helpers shared by every FhirExport resource writer, so each writes resources, references and periods one way.
internal static class FhirJson

{
    public static string Build(Action<Utf8JsonWriter> writeBody)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeBody(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // propertyName null: the reference is an array item.
    public static void Reference(Utf8JsonWriter writer, string? propertyName, string reference)
    {
        if (propertyName is null)
        {
            writer.WriteStartObject();
        }
        else
        {
            writer.WriteStartObject(propertyName);
        }

        writer.WriteString("reference", reference);
        writer.WriteEndObject();
    }

    public static void Period(Utf8JsonWriter writer, string propertyName, CallbackWindow window) =>
        Period(writer, propertyName, window.Start, window.End);

    public static void Period(Utf8JsonWriter writer, string propertyName, DateTimeOffset? start, DateTimeOffset? end)
    {
        writer.WriteStartObject(propertyName);
        if (start is { } s)
        {
            writer.WriteString("start", FhirFormat.DateTime(s));
        }

        if (end is { } e)
        {
            writer.WriteString("end", FhirFormat.DateTime(e));
        }

        writer.WriteEndObject();
    }

    // An array item CodeableConcept when propertyName is null.
    public static void CodeableConcept(Utf8JsonWriter writer, string system, string code, string display, string? propertyName = null, string? text = null)
    {
        if (propertyName is null)
        {
            writer.WriteStartObject();
        }
        else
        {
            writer.WriteStartObject(propertyName);
        }

        writer.WriteStartArray("coding");
        writer.WriteStartObject();
        writer.WriteString("system", system);
        writer.WriteString("code", code);
        writer.WriteString("display", display);
        writer.WriteEndObject();
        writer.WriteEndArray();
        if (text is not null)
        {
            writer.WriteString("text", text);
        }

        writer.WriteEndObject();
    }
}
