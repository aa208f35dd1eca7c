using System.Text;
using System.Text.Json.Nodes;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Messaging;
using static TelehealthMessaging.Tests.Callbacks.CallbackFixtures;

namespace TelehealthMessaging.Tests.Messaging;

// Canary strings stand in for health data, personal data and key material. None of them may appear in any
// ToString() or in any exception the SDK raises for input that contains them.
public class HealthDataLeakTests
{
    private static readonly string[] Canaries =
    [
        ReasonCanary,
        PhoneCanaryDigits,
        MessageFixtures.TextCanary,
        MessageFixtures.FileNameCanary,
        MessageFixtures.AnswerCanary,
        Convert.ToBase64String(MessageFixtures.KeyCanary),
        Convert.ToHexString(MessageFixtures.KeyCanary),
        Convert.ToHexString(MessageFixtures.KeyCanary).ToLowerInvariant(),
        "CANARY",
    ];

    [Fact]
    public void No_to_string_contains_health_data_or_key_material()
    {
        var clock = Clock();
        CallbackRequest request = InState(CallbackState.Scheduled, clock).Cancel(Patient, ReasonCanary, clock);
        var texts = new List<string>
        {
            request.ToString(),
            request.PhoneNumber.ToString(),
            request.History[^1].ToString(),
            new CallbackValidationError("reason", CallbackValidationCodes.Invalid, "x").ToString(),
        };
        foreach ((string _, SecureMessage message) in MessageFixtures.OnePerContentType())
        {
            texts.Add(message.ToString());
            texts.Add(message.Content.ToString());
            texts.Add($"{message.Content}");
        }

        texts.Add(new UnknownContent("poll", $$"""{"type":"poll","q":"{{MessageFixtures.TextCanary}}"}""").ToString());
        AssertClean(texts);
    }

    [Fact]
    public void No_exception_from_bad_callback_input_contains_health_data()
    {
        var clock = Clock();
        var exceptions = new List<Exception>
        {
            Catch(() => PhoneNumber.Parse("+0" + PhoneCanaryDigits)),
            Catch(() => CallbackRequest.Create(
                Patient, Clinic, ReasonCanary + "\u0001" + new string('x', CallbackRequest.MaxReasonLength), "+0" + PhoneCanaryDigits + "x",
                CallbackMedium.Phone, CallbackPriority.Routine, [new CallbackWindow(Start.AddHours(-3), Start.AddHours(-1))], null, clock)),
            Catch(() => NewRequest(clock).Decline(Clinician, ReasonCanary + new string('x', CallbackRequest.MaxReasonLength), clock)),
            Catch(() => NewRequest(clock).Complete(Clinician, clock, ReasonCanary)),
            Catch(() => NewRequest(clock).Accept(Patient, clock, ReasonCanary)),
            Catch(() => NewRequest(clock).Cancel(Participant.Patient(new UserId("someone-else")), ReasonCanary, clock)),
            Catch(() => new TextContent(MessageFixtures.TextCanary + new string('x', TextContent.MaxLength))),
            Catch(() => new AttachmentReferenceContent("att-1", 1, "image/png", MessageFixtures.Digest, MessageFixtures.KeyCanary.AsSpan(1), MessageFixtures.FileNameCanary)),
            Catch(() => new AttachmentReferenceContent("att-1", 1, "image/png", MessageFixtures.Digest, MessageFixtures.KeyCanary, MessageFixtures.FileNameCanary + "/x")),
            Catch(() => new IntakeSubmissionContent(new IntakeSubmissionId("i"), "https://q.example/Q", MessageFixtures.QuestionnaireResponseJson()[..60])),
        };

        AssertClean(exceptions);
    }

    [Fact]
    public void No_exception_from_a_bad_message_contains_health_data()
    {
        var exceptions = new List<Exception>();
        foreach ((string _, SecureMessage message) in MessageFixtures.OnePerContentType())
        {
            byte[] bytes = MessageSerializer.Serialize(message);

            // Cut inside the content, where the canaries are, and corrupt a byte in the middle.
            exceptions.Add(Catch(() => MessageSerializer.Deserialize(bytes.AsSpan(0, bytes.Length - 20))));
            byte[] corrupted = (byte[])bytes.Clone();
            corrupted[bytes.Length * 2 / 3] = (byte)'\u0001';
            exceptions.Add(Catch(() => MessageSerializer.Deserialize(corrupted)));
        }

        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(MessageFixtures.Message("callback-request")))!;
        json["content"]!["phoneNumber"] = "+0" + PhoneCanaryDigits;
        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()))));

        json = JsonNode.Parse(MessageSerializer.Serialize(MessageFixtures.Message("callback-request")))!;
        json["content"]!["reason"] = ReasonCanary + "\u0002";
        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()))));

        json = JsonNode.Parse(MessageSerializer.Serialize(MessageFixtures.Message("attachment-reference")))!;
        json["content"]!["key"] = Convert.ToBase64String(MessageFixtures.KeyCanary.AsSpan(2));
        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()))));

        json = JsonNode.Parse(MessageSerializer.Serialize(MessageFixtures.Message("text")))!;
        json["content"]!["text"] = 42;
        json["content"]![MessageFixtures.TextCanary] = MessageFixtures.TextCanary;
        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()))));

        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(MessageFixtures.TextCanary))));
        exceptions.Add(Catch(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes("{\"v\":1,\"id\":\"" + MessageFixtures.TextCanary + " \"}"))));

        Assert.All(exceptions, ex => Assert.Equal(TelehealthErrorCode.InvalidFormat, Assert.IsAssignableFrom<TelehealthException>(ex).ErrorCode));
        AssertClean(exceptions);
    }

    private static Exception Catch(Func<object> action)
    {
        try
        {
            _ = action();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("Expected an exception.");
    }

    private static void AssertClean(IEnumerable<Exception> exceptions) =>
        AssertClean(exceptions.SelectMany(ex => new[] { ex.Message, ex.ToString() }));

    private static void AssertClean(IEnumerable<string> texts)
    {
        foreach (string text in texts)
        {
            foreach (string canary in Canaries)
            {
                Assert.False(text.Contains(canary, StringComparison.OrdinalIgnoreCase), $"Found canary '{canary}' in: {text}");
            }
        }
    }
}
