using System.Text;
using System.Text.Json.Nodes;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Messaging;
using static TelehealthMessaging.Tests.Messaging.MessageFixtures;

namespace TelehealthMessaging.Tests.Messaging;

public class MessageSerializerTests
{
    public static TheoryData<string> ContentTypes() => new(OnePerContentType().Select(m => m.Name));

    [Theory]
    [MemberData(nameof(ContentTypes))]
    public void Every_content_type_round_trips_to_identical_bytes(string contentType)
    {
        SecureMessage message = Message(contentType);
        byte[] bytes = MessageSerializer.Serialize(message);

        SecureMessage read = MessageSerializer.Deserialize(bytes);

        Assert.Equal(message.Id, read.Id);
        Assert.Equal(message.ConversationId, read.ConversationId);
        Assert.Equal(message.Sender, read.Sender);
        Assert.Equal(message.SenderDevice, read.SenderDevice);
        Assert.Equal(message.SentAt, read.SentAt);
        Assert.Equal(message.SentAt.Offset, read.SentAt.Offset);
        Assert.Equal(message.InResponseTo, read.InResponseTo);
        Assert.Equal(message.Content.GetType(), read.Content.GetType());
        Assert.Equal(bytes, MessageSerializer.Serialize(read));
    }

    [Fact]
    public void Value_content_types_are_equal_after_a_round_trip()
    {
        foreach (string type in new[] { "text", "intake-submission", "callback-transition", "receipt", "attachment-reference" })
        {
            SecureMessage message = Message(type);
            Assert.Equal(message.Content, MessageSerializer.Deserialize(MessageSerializer.Serialize(message)).Content);
        }
    }

    [Fact]
    public void A_callback_request_is_rebuilt_with_its_state_and_history()
    {
        SecureMessage message = Message("callback-request");
        var original = (CallbackRequestContent)message.Content;

        var read = (CallbackRequestContent)MessageSerializer.Deserialize(MessageSerializer.Serialize(message)).Content;

        CallbackRequest a = original.Request, b = read.Request;
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(CallbackState.NoAnswer, b.State);
        Assert.Equal(a.Priority, b.Priority);
        Assert.Equal(CallbackPriority.Urgent, b.Priority);
        Assert.Equal(a.Attempts, b.Attempts);
        Assert.Equal(a.MaxAttempts, b.MaxAttempts);
        Assert.Equal(a.PhoneNumber, b.PhoneNumber);
        Assert.Equal(a.Reason, b.Reason);
        Assert.Equal(a.ScheduledWindow, b.ScheduledWindow);
        Assert.Equal(a.PreferredWindows, b.PreferredWindows);
        Assert.Equal(a.AssignedClinician, b.AssignedClinician);
        Assert.Equal(a.History, b.History);
        Assert.Equal(a.CreatedAt, b.CreatedAt);
    }

    [Fact]
    public void The_wire_shape_is_versioned_camel_case_json_with_a_type_discriminator()
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;

        Assert.Equal(1, (int)json["v"]!);
        Assert.Equal("m-text", (string)json["id"]!);
        Assert.Equal("conv-1", (string)json["conversationId"]!);
        Assert.Equal("patient", (string)json["sender"]!["role"]!);
        Assert.Equal("device-1", (string)json["senderDevice"]!);
        Assert.Equal("2026-03-02T10:15:30.25+01:00", (string)json["sentAt"]!);
        Assert.Equal("m-0", (string)json["inResponseTo"]!);
        Assert.Equal("text", (string)json["content"]!["type"]!);
        Assert.Equal(TextCanary, (string)json["content"]!["text"]!);
    }

    [Fact]
    public void The_questionnaire_response_is_embedded_as_a_json_object()
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("intake-submission")))!;
        Assert.Equal("QuestionnaireResponse", (string)json["content"]!["questionnaireResponse"]!["resourceType"]!);
    }

    [Fact]
    public void An_unknown_content_type_becomes_unknown_content_and_survives_re_serialization()
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;
        json["content"] = JsonNode.Parse("""{"type":"poll","question":"Which day suits you?","options":["Mon","Tue"]}""");

        SecureMessage read = MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()));

        var unknown = Assert.IsType<UnknownContent>(read.Content);
        Assert.Equal("poll", unknown.ContentType);
        JsonNode again = JsonNode.Parse(MessageSerializer.Serialize(read))!;
        Assert.True(JsonNode.DeepEquals(json["content"], again["content"]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Poll")]
    [InlineData("has space")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void An_unknown_content_type_name_that_is_not_a_short_token_is_rejected(string type)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;
        json["content"]!["type"] = type;
        AssertInvalidFormat(json.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(ContentTypes))]
    public void Unknown_fields_are_ignored_at_every_level(string contentType)
    {
        byte[] bytes = MessageSerializer.Serialize(Message(contentType));
        JsonNode json = JsonNode.Parse(bytes)!;
        AddUnknownFields(json);

        SecureMessage read = MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()));

        Assert.Equal(bytes, MessageSerializer.Serialize(read));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void An_unsupported_version_is_rejected(int version)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;
        json["v"] = version;
        var ex = AssertInvalidFormat(json.ToJsonString());
        Assert.Contains("version", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v")]
    [InlineData("id")]
    [InlineData("conversationId")]
    [InlineData("sender")]
    [InlineData("senderDevice")]
    [InlineData("sentAt")]
    [InlineData("content")]
    public void A_missing_required_field_is_rejected(string field)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;
        json.AsObject().Remove(field);
        AssertInvalidFormat(json.ToJsonString());
    }

    [Theory]
    [InlineData("text", "text")]
    [InlineData("receipt", "kind")]
    [InlineData("receipt", "messageIds")]
    [InlineData("attachment-reference", "key")]
    [InlineData("attachment-reference", "sha256")]
    [InlineData("callback-request", "history")]
    [InlineData("callback-request", "phoneNumber")]
    [InlineData("callback-transition", "transition")]
    [InlineData("intake-submission", "questionnaireResponse")]
    public void A_missing_required_content_field_is_rejected(string contentType, string field)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message(contentType)))!;
        json["content"]!.AsObject().Remove(field);
        AssertInvalidFormat(json.ToJsonString());
    }

    [Theory]
    [InlineData("""{"id": null}""")]
    [InlineData("""{"id": 5}""")]
    [InlineData("""{"id": "not a fhir id"}""")]
    [InlineData("""{"sentAt": "yesterday"}""")]
    [InlineData("""{"sender": {"id": "u1", "role": "nurse"}}""")]
    [InlineData("""{"content": "text"}""")]
    [InlineData("""{"content": {"type": 3}}""")]
    [InlineData("""{"content": {"type": "text", "text": "   "}}""")]
    [InlineData("""{"content": {"type": "receipt", "kind": "seen", "messageIds": ["m1"]}}""")]
    [InlineData("""{"content": {"type": "receipt", "kind": "read", "messageIds": []}}""")]
    [InlineData("""{"content": {"type": "attachment-reference", "attachmentId": "a", "size": 1, "mediaType": "image/png", "sha256": "AAAA", "key": "AAAA"}}""")]
    [InlineData("""{"content": {"type": "attachment-reference", "attachmentId": "a", "size": 1, "mediaType": "image/png", "sha256": "!!", "key": "!!"}}""")]
    [InlineData("""{"content": {"type": "intake-submission", "submissionId": "i1", "questionnaire": "q", "questionnaireResponse": {"resourceType": "Patient"}}}""")]
    public void A_malformed_value_is_rejected(string patch)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("text")))!;
        foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject())
        {
            json[key] = value?.DeepClone();
        }

        AssertInvalidFormat(json.ToJsonString());
    }

    [Fact]
    public void A_duplicated_property_is_rejected_so_readers_cannot_disagree_about_it()
    {
        string json = Encoding.UTF8.GetString(MessageSerializer.Serialize(Message("text")))
            .Replace("\"type\":\"text\"", "\"type\":\"text\",\"type\":\"poll\"", StringComparison.Ordinal);
        AssertInvalidFormat(json);
    }

    [Fact]
    public void A_callback_request_whose_history_was_tampered_with_is_rejected()
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("callback-request")))!;
        // Claim the first transition was a completion straight from Requested.
        JsonNode first = json["content"]!["history"]![0]!;
        first["action"] = "complete";
        first["to"] = "completed";

        var ex = AssertInvalidFormat(json.ToJsonString());
        Assert.IsType<InvalidCallbackTransitionException>(ex.InnerException);
    }

    [Theory]
    [InlineData("maxAttempts", "0")]
    [InlineData("maxAttempts", "21")]
    [InlineData("medium", "\"carrier-pigeon\"")]
    [InlineData("preferredWindows", "[]")]
    [InlineData("createdAt", "\"2030-01-01T00:00:00Z\"")]
    public void A_callback_request_with_invalid_creation_data_is_rejected(string field, string value)
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("callback-request")))!;
        json["content"]![field] = JsonNode.Parse(value);
        AssertInvalidFormat(json.ToJsonString());
    }

    [Fact]
    public void A_callback_request_with_a_phone_number_that_is_not_e164_is_rejected()
    {
        JsonNode json = JsonNode.Parse(MessageSerializer.Serialize(Message("callback-request")))!;
        json["content"]!["phoneNumber"] = "0800 123";
        AssertInvalidFormat(json.ToJsonString());
    }

    [Fact]
    public void Every_truncation_of_a_valid_message_is_rejected_as_invalid_format()
    {
        foreach ((string _, SecureMessage message) in OnePerContentType())
        {
            byte[] bytes = MessageSerializer.Serialize(message);
            for (int length = 0; length < bytes.Length; length++)
            {
                var ex = Assert.Throws<TelehealthException>(() => MessageSerializer.Deserialize(bytes.AsSpan(0, length)));
                Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"v\"")]
    [InlineData("{}")]
    [InlineData("{\"v\":1}")]
    [InlineData("{\"v\":\"1\"}")]
    [InlineData("{\"v\":1.5}")]
    [InlineData("{\"v\":1}{\"v\":1}")]
    [InlineData("not json at all")]
    [InlineData("{\"v\":1,\"v\":1}")]
    public void Garbage_is_rejected_as_invalid_format(string text)
    {
        AssertInvalidFormat(text);
    }

    [Fact]
    public void Random_bytes_and_mutated_messages_never_throw_anything_but_telehealth_exceptions()
    {
        var random = new Random(20260302);
        var samples = OnePerContentType().Select(m => MessageSerializer.Serialize(m.Message)).ToArray();
        for (int i = 0; i < 3000; i++)
        {
            byte[] input;
            if (i % 3 == 0)
            {
                input = new byte[random.Next(0, 200)];
                random.NextBytes(input);
            }
            else
            {
                // Flipping a few bytes of a real message reaches deeper into the reader than pure noise does.
                input = (byte[])samples[random.Next(samples.Length)].Clone();
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }
            }

            try
            {
                MessageSerializer.Deserialize(input);
            }
            catch (TelehealthException)
            {
                // Expected for most inputs; anything else fails the test.
            }
        }
    }

    private static TelehealthException AssertInvalidFormat(string json)
    {
        var ex = Assert.ThrowsAny<TelehealthException>(() => MessageSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(TelehealthErrorCode.InvalidFormat, ex.ErrorCode);
        return ex;
    }

    private static void AddUnknownFields(JsonNode node)
    {
        if (node is JsonObject obj)
        {
            // The embedded FHIR resource is carried verbatim, so it is left as it is.
            if (obj.ContainsKey("resourceType"))
            {
                return;
            }

            foreach (JsonNode? child in obj.Select(p => p.Value).ToList())
            {
                if (child is not null)
                {
                    AddUnknownFields(child);
                }
            }

            obj["futureField"] = new JsonObject { ["nested"] = new JsonArray(1, "two", null) };
        }
        else if (node is JsonArray array)
        {
            foreach (JsonNode? child in array)
            {
                if (child is not null)
                {
                    AddUnknownFields(child);
                }
            }
        }
    }
}
