using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Tests.Intake;

// Small inline Questionnaires for tests: each test states the items it needs.
internal static class TestForms
{
    public const string Url = "http://example.org/Questionnaire/intake";

    public static string Questionnaire(params string[] items) => $$"""
        {
          "resourceType": "Questionnaire",
          "id": "intake",
          "url": "{{Url}}",
          "version": "2",
          "name": "Intake",
          "title": "Test intake",
          "status": "active",
          "item": [{{string.Join(",", items)}}]
        }
        """;

    public static IntakeForm Load(params string[] items) => IntakeForm.Parse(Questionnaire(items));

    public static string Item(string linkId, string type, string extra = "") =>
        $$"""{ "linkId": "{{linkId}}", "text": "Question {{linkId}}", "type": "{{type}}"{{(extra.Length > 0 ? ", " + extra : "")}} }""";

    public static string Group(string linkId, string extra, params string[] items) =>
        $$"""{ "linkId": "{{linkId}}", "text": "Group {{linkId}}", "type": "group"{{(extra.Length > 0 ? ", " + extra : "")}}, "item": [{{string.Join(",", items)}}] }""";

    public static string EnableWhen(string question, string op, string answer) =>
        $$"""{ "question": "{{question}}", "operator": "{{op}}", {{answer}} }""";
}
