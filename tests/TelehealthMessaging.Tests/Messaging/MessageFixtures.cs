using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Tests.Callbacks;

namespace TelehealthMessaging.Tests.Messaging;

internal static class MessageFixtures
{
    public const string TextCanary = "CANARY-TEXT-my-hiv-result-4419";
    public const string FileNameCanary = "CANARY-FILE-rash-photo.jpg";
    public const string AnswerCanary = "CANARY-ANSWER-insulin-42u";

    // Recognisable key bytes: their hex and base64 forms are searched for in exception messages and ToString().
    public static readonly byte[] KeyCanary = Enumerable.Range(0xA0, 32).Select(i => (byte)i).ToArray();
    public static readonly byte[] Digest = SHA256.HashData("encrypted attachment"u8);

    public static readonly Participant Patient = CallbackFixtures.Patient;
    public static readonly Participant Clinician = CallbackFixtures.Clinician;
    public static readonly ConversationId ConversationIdentifier = new("conv-1");
    public static readonly DeviceId Device = new("device-1");

    public static string QuestionnaireResponseJson(string id = "intake-1") =>
        $$"""
        {
          "resourceType": "QuestionnaireResponse",
          "id": "{{id}}",
          "questionnaire": "https://clinic.example/Questionnaire/intake|1.0",
          "status": "completed",
          "item": [ { "linkId": "dose", "answer": [ { "valueString": "{{AnswerCanary}}" } ] } ]
        }
        """;

    public static AttachmentReferenceContent Attachment(long size = 48_213) =>
        new("att-7", size, "image/jpeg", Digest, KeyCanary, FileNameCanary);

    // One message per content type, each with every optional field filled in.
    public static IEnumerable<(string Name, SecureMessage Message)> OnePerContentType()
    {
        FakeTimeProvider clock = CallbackFixtures.Clock();
        CallbackRequest callback = CallbackFixtures.InState(CallbackState.NoAnswer, clock)
            .RaisePriority(CallbackPriority.Urgent, Clinician, "Red flag", clock);

        MessageContent[] contents =
        [
            new TextContent(TextCanary),
            new IntakeSubmissionContent(new IntakeSubmissionId("intake-1"), "https://clinic.example/Questionnaire/intake|1.0", QuestionnaireResponseJson()),
            new CallbackRequestContent(callback),
            new CallbackTransitionContent(callback.Id, callback.History[^1]),
            new ReceiptContent(ReceiptKind.Read, [new MessageId("m-1"), new MessageId("m-2")]),
            Attachment(),
        ];

        foreach (MessageContent content in contents)
        {
            Participant sender = content is CallbackTransitionContent ? Clinician : Patient;
            yield return (content.ContentType, new SecureMessage(
                new MessageId("m-" + content.ContentType),
                ConversationIdentifier,
                sender,
                Device,
                new DateTimeOffset(2026, 3, 2, 10, 15, 30, 250, TimeSpan.FromHours(1)),
                content,
                new MessageId("m-0")));
        }
    }

    public static SecureMessage Message(string contentType) => OnePerContentType().Single(m => m.Name == contentType).Message;
}
