using System.Text.Json;
using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Fhir;

/// <summary>Exports SDK models as FHIR R4 JSON resources.</summary>
public static partial class FhirExport
{
    /// <summary>
    /// Writes <paramref name="submission"/> as a FHIR R4 QuestionnaireResponse: items nested exactly as in the form
    /// (groups that hold answers, questions with typed answers, answers to a question's nested items inside its
    /// answer), item text copied from the form.
    /// </summary>
    /// <param name="submission">The submitted intake.</param>
    /// <returns>The QuestionnaireResponse JSON.</returns>
    public static string ToQuestionnaireResponse(IntakeSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        return FhirJson.Build(writer =>
        {
            writer.WriteString("resourceType", "QuestionnaireResponse");
            writer.WriteString("id", submission.Id.Value);
            if (submission.Form.Canonical is string canonical)
            {
                writer.WriteString("questionnaire", canonical);
            }

            writer.WriteString("status", submission.Status == IntakeSubmissionStatus.Amended ? "amended" : "completed");
            if (submission.Subject is string subject)
            {
                FhirJson.Reference(writer, "subject", subject);
            }

            writer.WriteString("authored", FhirFormat.DateTime(submission.Authored));
            if (submission.Author is string author)
            {
                FhirJson.Reference(writer, "author", author);
            }

            WriteItems(writer, submission.Form.Items, submission.Root);
        });
    }

    // Writes an "item" array for the items of the form that hold answers in scope; nothing when none do.
    private static void WriteItems(Utf8JsonWriter writer, IReadOnlyList<IntakeItem> items, AnswerNode scope)
    {
        if (!items.Any(i => HoldsAnswers(i, scope)))
        {
            return;
        }

        writer.WriteStartArray("item");
        foreach (IntakeItem item in items)
        {
            if (item.Type == IntakeItemType.Group && item.Repeats)
            {
                foreach (AnswerNode instance in scope.InstancesOf(item.LinkId))
                {
                    if (!instance.IsEmpty)
                    {
                        WriteGroup(writer, item, instance);
                    }
                }
            }
            else if (item.Type == IntakeItemType.Group)
            {
                if (HoldsAnswers(item, scope))
                {
                    WriteGroup(writer, item, scope);
                }
            }
            else if (scope.AnswersOf(item.LinkId) is { Count: > 0 } answers)
            {
                WriteQuestion(writer, item, answers, scope);
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteGroup(Utf8JsonWriter writer, IntakeItem group, AnswerNode scope)
    {
        writer.WriteStartObject();
        WriteItemHeader(writer, group);
        WriteItems(writer, group.Items, scope);
        writer.WriteEndObject();
    }

    private static void WriteQuestion(Utf8JsonWriter writer, IntakeItem item, IReadOnlyList<IntakeAnswerValue> answers, AnswerNode scope)
    {
        writer.WriteStartObject();
        WriteItemHeader(writer, item);
        writer.WriteStartArray("answer");
        for (int i = 0; i < answers.Count; i++)
        {
            writer.WriteStartObject();
            FhirValueJson.Write(writer, "value", answers[i]);

            // FHIR nests the items under a question inside an answer; the first answer carries them.
            if (i == 0)
            {
                WriteItems(writer, item.Items, scope);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteItemHeader(Utf8JsonWriter writer, IntakeItem item)
    {
        writer.WriteString("linkId", item.LinkId);
        if (item.Definition is not null)
        {
            writer.WriteString("definition", item.Definition);
        }

        if (item.Text is not null)
        {
            writer.WriteString("text", item.Text);
        }
    }

    private static bool HoldsAnswers(IntakeItem item, AnswerNode scope) => item.Type switch
    {
        IntakeItemType.Display => false,
        IntakeItemType.Group when item.Repeats => scope.InstancesOf(item.LinkId).Any(i => !i.IsEmpty),
        IntakeItemType.Group => item.Items.Any(i => HoldsAnswers(i, scope)),
        _ => scope.AnswersOf(item.LinkId).Count > 0,
    };
}
