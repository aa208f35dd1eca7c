using System.Text.Json;
using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Fhir;

/// <summary>Reads FHIR R4 JSON resources into SDK models.</summary>
public static partial class FhirImport
{
    /// <summary>
    /// Reads a FHIR R4 QuestionnaireResponse to <paramref name="form"/> into a submitted intake: how a clinician's
    /// app reads a received intake. Subject and author references are kept verbatim; answers are kept as given
    /// (a coding without a system still matches its option). Answers to items disabled by <c>enableWhen</c> are
    /// dropped, as they would not have been submitted.
    /// </summary>
    /// <param name="json">The QuestionnaireResponse JSON.</param>
    /// <param name="form">The form the response answers.</param>
    /// <returns>The submitted intake.</returns>
    /// <exception cref="TelehealthException">
    /// <see cref="TelehealthErrorCode.InvalidFormat"/>: the JSON is malformed, not a QuestionnaireResponse, its status
    /// is not <c>completed</c> or <c>amended</c>, or its id or <c>authored</c> is missing or malformed.
    /// </exception>
    /// <exception cref="IntakeValidationException">
    /// The response does not fit the form: every misplaced item (<see cref="IntakeProblemCode.InvalidNesting"/>),
    /// unknown linkId, wrongly typed answer, another questionnaire, and every problem validation finds.
    /// </exception>
    public static IntakeSubmission FromQuestionnaireResponse(string json, IntakeForm form)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(form);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            // JsonException messages give positions, never document content.
            throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "The QuestionnaireResponse is not well-formed JSON.", ex);
        }

        using (document)
        {
            return new ResponseReader(form).Read(document.RootElement);
        }
    }

    private sealed class ResponseReader(IntakeForm form)
    {
        private readonly List<IntakeProblem> _problems = [];

        public IntakeSubmission Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object || FhirValueJson.OptionalString(root, "resourceType") != "QuestionnaireResponse")
            {
                throw Invalid("the resource is not a QuestionnaireResponse");
            }

            IntakeSubmissionId id = FhirValueJson.OptionalString(root, "id") is string idText
                ? (Identifier.IsValid(idText) ? new IntakeSubmissionId(idText) : throw Invalid("id is not a valid FHIR id"))
                : throw Invalid("id is missing");

            IntakeSubmissionStatus status = FhirValueJson.OptionalString(root, "status") switch
            {
                "completed" => IntakeSubmissionStatus.Completed,
                "amended" => IntakeSubmissionStatus.Amended,
                _ => throw Invalid("status must be 'completed' or 'amended' for a submitted intake"),
            };

            if (!FhirFormat.TryParseDateTime(FhirValueJson.OptionalString(root, "authored"), out DateTimeOffset authored))
            {
                throw Invalid("authored is missing or not a FHIR dateTime with a zone");
            }

            string? questionnaire = FhirValueJson.OptionalString(root, "questionnaire");
            if (questionnaire is null || !form.IsReferencedBy(questionnaire))
            {
                _problems.Add(new IntakeProblem(
                    "questionnaire",
                    IntakeProblemCode.QuestionnaireMismatch,
                    $"The response does not name this form's Questionnaire ({form.Canonical ?? "a form without a URL"})."));
            }

            var answers = new AnswerNode(null, null);
            ReadItems(root, parent: null, answers, string.Empty);

            _problems.AddRange(IntakeRules.Validate(form, answers));
            if (_problems.Count > 0)
            {
                throw new IntakeValidationException(_problems);
            }

            return new IntakeSubmission(
                id,
                form,
                authored,
                status,
                ReferenceOf(root, "subject"),
                ReferenceOf(root, "author"),
                IntakeRules.EnabledCopy(form, answers));
        }

        // Reads the "item" array of owner, whose items the form places under parent (null: the top level).
        private void ReadItems(JsonElement owner, IntakeItem? parent, AnswerNode scope, string prefix)
        {
            if (!owner.TryGetProperty("item", out JsonElement array))
            {
                return;
            }

            if (array.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("item must be an array");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonElement element in array.EnumerateArray())
            {
                string? linkId = FhirValueJson.OptionalString(element, "linkId");
                if (element.ValueKind != JsonValueKind.Object || string.IsNullOrEmpty(linkId))
                {
                    throw Invalid("an item has no linkId");
                }

                string path = prefix + linkId;
                IntakeItem? item = form.FindItem(linkId);
                if (item is null)
                {
                    _problems.Add(new IntakeProblem(path, IntakeProblemCode.UnknownItem, $"Item '{linkId}' is not in the form."));
                    continue;
                }

                if (item.Parent != parent)
                {
                    string expected = item.Parent is null ? "at the top level" : $"inside '{item.Parent.LinkId}'";
                    _problems.Add(new IntakeProblem(path, IntakeProblemCode.InvalidNesting, $"Item '{linkId}' must be {expected}."));
                    continue;
                }

                bool repeatingGroup = item.Type == IntakeItemType.Group && item.Repeats;
                if (!repeatingGroup && !seen.Add(linkId))
                {
                    _problems.Add(new IntakeProblem(path, IntakeProblemCode.TooManyAnswers, $"Item '{linkId}' appears more than once but does not repeat."));
                    continue;
                }

                switch (item.Type)
                {
                    case IntakeItemType.Group:
                        RejectAnswers(element, item, path);
                        if (repeatingGroup)
                        {
                            AnswerNode instance = scope.AddInstance(item);
                            ReadItems(element, item, instance, $"{prefix}{linkId}[{scope.InstancesOf(linkId).Count - 1}]/");
                        }
                        else
                        {
                            ReadItems(element, item, scope, prefix);
                        }

                        break;
                    case IntakeItemType.Display:
                        RejectAnswers(element, item, path);
                        break;
                    default:
                        ReadAnswers(element, item, scope, path, prefix);
                        break;
                }
            }
        }

        private void ReadAnswers(JsonElement element, IntakeItem item, AnswerNode scope, string path, string prefix)
        {
            if (element.TryGetProperty("item", out _))
            {
                _problems.Add(new IntakeProblem(path, IntakeProblemCode.InvalidNesting, $"Items under question '{item.LinkId}' belong inside its answer."));
            }

            if (!element.TryGetProperty("answer", out JsonElement answers))
            {
                return;
            }

            if (answers.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("answer must be an array");
            }

            foreach (JsonElement answer in answers.EnumerateArray())
            {
                if (answer.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("an answer must be a JSON object");
                }

                switch (FhirValueJson.Read(answer, "value", out IntakeAnswerValue? value, out string? property))
                {
                    case ValueReadStatus.Read when item.Accepts(value!):
                        scope.AddAnswer(item.LinkId, value!);
                        break;
                    case ValueReadStatus.Read:
                        _problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"Item '{item.LinkId}' takes {item.ExpectedKinds}, not {property}."));
                        break;
                    case ValueReadStatus.Absent:
                        _problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"An answer to '{item.LinkId}' has no value."));
                        break;
                    case ValueReadStatus.Unsupported:
                        _problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"An answer to '{item.LinkId}' has unsupported type {property}."));
                        break;
                    default:
                        _problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"An answer to '{item.LinkId}' has a malformed {property}."));
                        break;
                }

                ReadItems(answer, item, scope, prefix);
            }
        }

        private void RejectAnswers(JsonElement element, IntakeItem item, string path)
        {
            if (element.TryGetProperty("answer", out _))
            {
                _problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"Item '{item.LinkId}' is a {IntakeItem.TypeName(item.Type)} item and takes no answers."));
            }
        }

        private static string? ReferenceOf(JsonElement root, string name) =>
            root.TryGetProperty(name, out JsonElement reference) ? FhirValueJson.OptionalString(reference, "reference") : null;

        private static TelehealthException Invalid(string problem) =>
            new(TelehealthErrorCode.InvalidFormat, $"The QuestionnaireResponse cannot be read: {problem}.");
    }
}
