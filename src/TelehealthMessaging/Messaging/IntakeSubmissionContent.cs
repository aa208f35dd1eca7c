using System.Text.Json;

namespace TelehealthMessaging.Messaging;

/// <summary>A submitted intake: the FHIR QuestionnaireResponse and the Questionnaire it answers.</summary>
public sealed record IntakeSubmissionContent : MessageContent
{
    /// <summary>The largest QuestionnaireResponse accepted, in UTF-16 characters of minified JSON.</summary>
    public const int MaxQuestionnaireResponseLength = 1_048_576;

    private const int MaxCanonicalLength = 1024;

    /// <summary>Creates intake submission content.</summary>
    /// <param name="submissionId">The submission's id; the QuestionnaireResponse's <c>id</c>, where present, must equal it.</param>
    /// <param name="questionnaireCanonical">The canonical URL of the Questionnaire answered, optionally with <c>|version</c>.</param>
    /// <param name="questionnaireResponseJson">The FHIR R4 QuestionnaireResponse as JSON text; stored minified.</param>
    /// <exception cref="ArgumentException">An argument is missing or malformed (the message does not repeat the JSON).</exception>
    public IntakeSubmissionContent(IntakeSubmissionId submissionId, string questionnaireCanonical, string questionnaireResponseJson)
    {
        if (submissionId.Value is null)
        {
            throw new ArgumentException("The submission id is missing.", nameof(submissionId));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(questionnaireCanonical);
        string url = questionnaireCanonical.Split('|', 2)[0];
        // Unix paths parse as absolute file URIs, so the scheme is checked too.
        if (questionnaireCanonical.Length > MaxCanonicalLength
            || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri)
            || uri.Scheme is not ("http" or "https" or "urn"))
        {
            throw new ArgumentException("The Questionnaire canonical must be an absolute http, https or urn URL, optionally followed by |version.", nameof(questionnaireCanonical));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(questionnaireResponseJson);
        SubmissionId = submissionId;
        QuestionnaireCanonical = questionnaireCanonical;
        QuestionnaireResponseJson = Minify(questionnaireResponseJson, submissionId);
    }

    /// <summary>The submission's id (the QuestionnaireResponse id).</summary>
    public IntakeSubmissionId SubmissionId { get; }

    /// <summary>The canonical URL of the Questionnaire answered.</summary>
    public string QuestionnaireCanonical { get; }

    /// <summary>The FHIR R4 QuestionnaireResponse as minified JSON text (health data).</summary>
    public string QuestionnaireResponseJson { get; }

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.IntakeSubmission;

    // Minified so that equal resources compare equal after a round trip, whatever whitespace the sender used.
    private static string Minify(string questionnaireResponseJson, IntakeSubmissionId submissionId)
    {
        const string paramName = nameof(questionnaireResponseJson);
        try
        {
            using JsonDocument document = JsonDocument.Parse(questionnaireResponseJson, new JsonDocumentOptions { AllowDuplicateProperties = false });
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("resourceType", out JsonElement type)
                || !type.ValueEquals("QuestionnaireResponse"))
            {
                throw new ArgumentException("The JSON is not a QuestionnaireResponse resource.", paramName);
            }

            if (root.TryGetProperty("id", out JsonElement id) && !id.ValueEquals(submissionId.Value))
            {
                throw new ArgumentException("The QuestionnaireResponse id differs from the submission id.", paramName);
            }

            var buffer = new System.Buffers.ArrayBufferWriter<byte>(questionnaireResponseJson.Length);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                root.WriteTo(writer);
            }

            string minified = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
            return minified.Length <= MaxQuestionnaireResponseLength
                ? minified
                : throw new ArgumentException("The QuestionnaireResponse is larger than MaxQuestionnaireResponseLength.", paramName);
        }
        catch (JsonException)
        {
            // The parser's message can quote the input; say only that it is malformed.
            throw new ArgumentException("The QuestionnaireResponse is not well-formed JSON.", paramName);
        }
    }
}
