using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TelehealthMessaging.Fhir;

namespace TelehealthMessaging.Compliance;

/// <summary>
/// Produces a pseudonymised copy of an exported intake (a FHIR R4 QuestionnaireResponse from
/// <see cref="FhirExport.ToQuestionnaireResponse"/>) for research or analytics (PIPA Art. 28-2, GDPR Art. 4(5)):
/// direct identifiers are replaced by keyed pseudonyms that are stable under one key, so records of one person stay
/// linkable, and cannot be reversed or linked without the key.
/// </summary>
/// <remarks>
/// <para>
/// Direct identifiers are found by the items' SDC <c>definition</c> (the same definitions
/// <see cref="FhirExport.ToPatient"/> extracts from): an item, and everything nested in it, whose definition's
/// element is <c>name</c>, <c>telecom</c>, <c>address</c>, <c>identifier</c>, <c>photo</c> or <c>contact</c> of a
/// Patient, RelatedPerson, Person or Practitioner gets each answer replaced by <c>valueString</c> <c>PSN-</c> + 32
/// hex digits of HMAC-SHA256(key, value); <c>birthDate</c> answers are reduced to the year. In every other free-text
/// answer, resident registration numbers are replaced by <c>RRN-</c> + a pseudonym. The ids in <c>subject</c>,
/// <c>author</c> and <c>source</c> become pseudonyms (their <c>display</c> is dropped), <c>identifier</c> values are
/// pseudonymised, and <c>text</c> (narrative) and <c>contained</c> resources are removed. Everything else is copied.
/// </para>
/// <para>
/// Free text can still name a person ("my husband John called"): pseudonymised data is still personal data, to be
/// protected and not re-identified (PIPA Art. 28-5).
/// </para>
/// </remarks>
public sealed class IntakePseudonymizer : IDisposable
{
    /// <summary>The smallest key accepted, in bytes.</summary>
    public const int MinKeySize = 32;

    private static readonly string[] IdentifyingResources = ["Patient", "RelatedPerson", "Person", "Practitioner"];
    private static readonly string[] IdentifyingElements = ["name", "telecom", "address", "identifier", "photo", "contact"];

    private readonly byte[] _key;
    private readonly ResidentRegistrationNumberDetector _detector = new();
    private bool _disposed;

    /// <summary>Creates a pseudonymiser.</summary>
    /// <param name="key">The secret HMAC key, at least 32 bytes; copied. Keep it apart from the pseudonymised data.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is shorter than <see cref="MinKeySize"/>.</exception>
    public IntakePseudonymizer(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinKeySize)
        {
            throw new ArgumentException($"The pseudonymisation key must be at least {MinKeySize} bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    private enum Identifying
    {
        No,
        Direct,
        BirthDate,
    }

    /// <summary>Pseudonymises a QuestionnaireResponse.</summary>
    /// <param name="questionnaireResponseJson">The QuestionnaireResponse JSON.</param>
    /// <returns>The pseudonymised copy.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.InvalidFormat"/>: not a JSON QuestionnaireResponse.</exception>
    /// <exception cref="ObjectDisposedException">The pseudonymiser was disposed.</exception>
    public string Pseudonymize(string questionnaireResponseJson)
    {
        ArgumentNullException.ThrowIfNull(questionnaireResponseJson);
        ObjectDisposedException.ThrowIf(_disposed, this);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(questionnaireResponseJson);
        }
        catch (JsonException ex)
        {
            throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "The input is not well-formed JSON.", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resourceType", out JsonElement type) ||
                type.ValueKind != JsonValueKind.String || type.GetString() != "QuestionnaireResponse")
            {
                throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "The input is not a FHIR QuestionnaireResponse.");
            }

            return FhirJson.Build(writer =>
            {
                foreach (JsonProperty property in root.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "text" or "contained":
                            break;
                        case "subject" or "author" or "source" when property.Value.ValueKind == JsonValueKind.Object:
                            writer.WritePropertyName(property.Name);
                            WriteReference(writer, property.Value);
                            break;
                        case "identifier" when property.Value.ValueKind == JsonValueKind.Object:
                            writer.WritePropertyName(property.Name);
                            WriteIdentifier(writer, property.Value);
                            break;
                        case "item" when property.Value.ValueKind == JsonValueKind.Array:
                            writer.WritePropertyName(property.Name);
                            WriteItems(writer, property.Value, Identifying.No);
                            break;
                        default:
                            property.WriteTo(writer);
                            break;
                    }
                }
            });
        }
    }

    /// <summary>Zeroes the key.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _disposed = true;
    }

    /// <summary>Names the type only.</summary>
    /// <returns><c>IntakePseudonymizer</c>.</returns>
    public override string ToString() => nameof(IntakePseudonymizer);

    private static Identifying Classify(JsonElement item, Identifying inherited)
    {
        if (inherited != Identifying.No || !item.TryGetProperty("definition", out JsonElement definition) || definition.ValueKind != JsonValueKind.String)
        {
            return inherited;
        }

        string text = definition.GetString()!;
        int hash = text.IndexOf('#', StringComparison.Ordinal);
        string[] path = (hash < 0 ? string.Empty : text[(hash + 1)..]).Split('.');
        if (path.Length < 2 || !IdentifyingResources.Contains(path[0], StringComparer.Ordinal))
        {
            return Identifying.No;
        }

        return path[1] == "birthDate" ? Identifying.BirthDate
            : IdentifyingElements.Contains(path[1], StringComparer.Ordinal) ? Identifying.Direct
            : Identifying.No;
    }

    private void WriteItems(Utf8JsonWriter writer, JsonElement items, Identifying inherited)
    {
        writer.WriteStartArray();
        foreach (JsonElement item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                item.WriteTo(writer);
                continue;
            }

            Identifying identifying = Classify(item, inherited);
            writer.WriteStartObject();
            foreach (JsonProperty property in item.EnumerateObject())
            {
                if (property.Name is "answer" && property.Value.ValueKind == JsonValueKind.Array)
                {
                    writer.WriteStartArray(property.Name);
                    foreach (JsonElement answer in property.Value.EnumerateArray())
                    {
                        WriteAnswer(writer, answer, identifying);
                    }

                    writer.WriteEndArray();
                }
                else if (property.Name is "item" && property.Value.ValueKind == JsonValueKind.Array)
                {
                    writer.WritePropertyName(property.Name);
                    WriteItems(writer, property.Value, identifying);
                }
                else
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private void WriteAnswer(Utf8JsonWriter writer, JsonElement answer, Identifying identifying)
    {
        if (answer.ValueKind != JsonValueKind.Object)
        {
            answer.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        foreach (JsonProperty property in answer.EnumerateObject())
        {
            if (property.Name == "item" && property.Value.ValueKind == JsonValueKind.Array)
            {
                writer.WritePropertyName(property.Name);
                WriteItems(writer, property.Value, identifying);
            }
            else if (!property.Name.StartsWith("value", StringComparison.Ordinal))
            {
                property.WriteTo(writer);
            }
            else if (identifying == Identifying.BirthDate && property.Name is "valueDate" or "valueDateTime" &&
                property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: >= 4 } date)
            {
                // Year only: enough for age bands, too coarse to single a person out.
                writer.WriteString(property.Name, date[..4]);
            }
            else if (identifying != Identifying.No)
            {
                writer.WriteString("valueString", "PSN-" + Pseudonym("answer", Text(property.Value)));
            }
            else if (property.Name == "valueString" && property.Value.ValueKind == JsonValueKind.String)
            {
                writer.WriteString(property.Name, ReplaceResidentNumbers(property.Value.GetString()!));
            }
            else
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    private string ReplaceResidentNumbers(string text)
    {
        IReadOnlyList<SensitiveIdentifierMatch> matches = _detector.Find(text);
        if (matches.Count == 0)
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        int position = 0;
        foreach (SensitiveIdentifierMatch match in matches)
        {
            string digits = new(text.AsSpan(match.Start, match.Length).ToArray().Where(char.IsAsciiDigit).ToArray());
            result.Append(text, position, match.Start - position).Append("RRN-").Append(Pseudonym("rrn", digits));
            position = match.Start + match.Length;
        }

        return result.Append(text, position, text.Length - position).ToString();
    }

    private void WriteReference(Utf8JsonWriter writer, JsonElement reference)
    {
        writer.WriteStartObject();
        foreach (JsonProperty property in reference.EnumerateObject())
        {
            switch (property.Name)
            {
                case "display":
                    break;
                case "reference" when property.Value.ValueKind == JsonValueKind.String:
                    string text = property.Value.GetString()!;
                    int slash = text.LastIndexOf('/');
                    string type = slash > 0 ? text[..slash] : "Patient";
                    writer.WriteString("reference", type + "/" + Pseudonym("reference", text));
                    break;
                case "identifier" when property.Value.ValueKind == JsonValueKind.Object:
                    writer.WritePropertyName(property.Name);
                    WriteIdentifier(writer, property.Value);
                    break;
                default:
                    property.WriteTo(writer);
                    break;
            }
        }

        writer.WriteEndObject();
    }

    private void WriteIdentifier(Utf8JsonWriter writer, JsonElement identifier)
    {
        writer.WriteStartObject();
        foreach (JsonProperty property in identifier.EnumerateObject())
        {
            if (property.Name == "value")
            {
                writer.WriteString("value", "PSN-" + Pseudonym("identifier", Text(property.Value)));
            }
            else if (property.Name is not "assigner")
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    // 128 bits of HMAC-SHA256(key, domain NUL value) as lower-case hex: a valid FHIR id, and collision-free in practice.
    private string Pseudonym(string domain, string value)
    {
        byte[] mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(domain + "\0" + value));
        return Convert.ToHexString(mac, 0, 16).ToLowerInvariant();
    }
}
