using TelehealthMessaging.Messaging;
using static TelehealthMessaging.Tests.Messaging.MessageFixtures;

namespace TelehealthMessaging.Tests.Messaging;

public class MessageContentTests
{
    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    public void Text_must_not_be_blank(string text)
    {
        Assert.ThrowsAny<ArgumentException>(() => new TextContent(text));
    }

    [Fact]
    public void Text_has_a_length_limit()
    {
        Assert.Equal(TextContent.MaxLength, new TextContent(new string('a', TextContent.MaxLength)).Text.Length);
        Assert.Throws<ArgumentException>(() => new TextContent(new string('a', TextContent.MaxLength + 1)));
    }

    [Fact]
    public void An_intake_submission_is_stored_minified_so_equal_resources_compare_equal()
    {
        var spaced = new IntakeSubmissionContent(new IntakeSubmissionId("intake-1"), "https://q.example/Q/1", QuestionnaireResponseJson());
        var compact = new IntakeSubmissionContent(new IntakeSubmissionId("intake-1"), "https://q.example/Q/1", spaced.QuestionnaireResponseJson);

        Assert.DoesNotContain("\n", spaced.QuestionnaireResponseJson, StringComparison.Ordinal);
        Assert.Equal(spaced, compact);
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient"}""")]
    [InlineData("""[{"resourceType":"QuestionnaireResponse"}]""")]
    [InlineData("""{"resourceType":"QuestionnaireResponse","id":"other-id"}""")]
    [InlineData("""{"resourceType":"QuestionnaireResponse",""")]
    public void An_intake_submission_needs_a_questionnaire_response_with_the_submission_id(string json)
    {
        var ex = Assert.Throws<ArgumentException>(() => new IntakeSubmissionContent(new IntakeSubmissionId("intake-1"), "https://q.example/Q/1", json));
        Assert.Equal("questionnaireResponseJson", ex.ParamName);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("Questionnaire/relative")]
    [InlineData("/etc/questionnaire")]
    [InlineData("file:///etc/questionnaire")]
    public void An_intake_submission_needs_an_absolute_questionnaire_canonical(string canonical)
    {
        Assert.Throws<ArgumentException>(() => new IntakeSubmissionContent(new IntakeSubmissionId("intake-1"), canonical, QuestionnaireResponseJson()));
    }

    [Fact]
    public void A_receipt_needs_one_to_500_message_ids()
    {
        Assert.Throws<ArgumentException>(() => new ReceiptContent(ReceiptKind.Read, []));
        Assert.Throws<ArgumentException>(() => new ReceiptContent(ReceiptKind.Read, Enumerable.Range(0, 501).Select(i => new MessageId("m" + i))));
        Assert.Throws<ArgumentException>(() => new ReceiptContent(ReceiptKind.Read, [default]));
        Assert.Throws<ArgumentException>(() => new ReceiptContent((ReceiptKind)9, [new MessageId("m1")]));
        Assert.Equal(500, new ReceiptContent(ReceiptKind.Delivered, Enumerable.Range(0, 500).Select(i => new MessageId("m" + i))).MessageIds.Count);
    }

    [Fact]
    public void Receipts_with_the_same_ids_are_equal()
    {
        Assert.Equal(new ReceiptContent(ReceiptKind.Read, [new MessageId("a"), new MessageId("b")]), new ReceiptContent(ReceiptKind.Read, [new MessageId("a"), new MessageId("b")]));
        Assert.NotEqual(new ReceiptContent(ReceiptKind.Read, [new MessageId("a")]), new ReceiptContent(ReceiptKind.Delivered, [new MessageId("a")]));
    }

    [Theory]
    [InlineData(31, 32, "image/png", null)]
    [InlineData(32, 31, "image/png", null)]
    [InlineData(32, 32, "png", null)]
    [InlineData(32, 32, "image/png; charset=x", null)]
    [InlineData(32, 32, "image/png", "../etc/passwd")]
    [InlineData(32, 32, "image/png", "")]
    public void An_attachment_reference_checks_lengths_media_type_and_file_name(int digestLength, int keyLength, string mediaType, string? fileName)
    {
        Assert.Throws<ArgumentException>(() => new AttachmentReferenceContent("att-1", 1, mediaType, new byte[digestLength], new byte[keyLength], fileName));
    }

    [Fact]
    public void An_attachment_reference_copies_the_key_and_compares_every_field()
    {
        byte[] key = (byte[])KeyCanary.Clone();
        var attachment = new AttachmentReferenceContent("att-1", 10, "application/pdf", Digest, key);
        key[0] ^= 0xFF;

        Assert.Equal(KeyCanary, attachment.Key.ToArray());
        Assert.Equal(attachment, new AttachmentReferenceContent("att-1", 10, "application/pdf", Digest, KeyCanary));
        Assert.NotEqual(attachment, new AttachmentReferenceContent("att-1", 10, "application/pdf", Digest, key));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AttachmentReferenceContent("att-1", -1, "application/pdf", Digest, KeyCanary));
    }

    [Fact]
    public void A_secure_message_refuses_default_ids()
    {
        var content = new TextContent("Hi");
        Assert.Throws<ArgumentException>(() => new SecureMessage(default, ConversationIdentifier, Patient, Device, DateTimeOffset.UnixEpoch, content));
        Assert.Throws<ArgumentException>(() => new SecureMessage(new MessageId("m"), default, Patient, Device, DateTimeOffset.UnixEpoch, content));
        Assert.Throws<ArgumentException>(() => new SecureMessage(new MessageId("m"), ConversationIdentifier, default, Device, DateTimeOffset.UnixEpoch, content));
        Assert.Throws<ArgumentException>(() => new SecureMessage(new MessageId("m"), ConversationIdentifier, Patient, Device, DateTimeOffset.UnixEpoch, content, default(MessageId)));
    }

    [Fact]
    public void Create_stamps_a_new_id_and_the_current_time()
    {
        var clock = Tests.Callbacks.CallbackFixtures.Clock();
        SecureMessage a = SecureMessage.Create(ConversationIdentifier, Patient, Device, new TextContent("Hi"), clock);
        SecureMessage b = SecureMessage.Create(ConversationIdentifier, Patient, Device, new TextContent("Hi"), clock, a.Id);

        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(clock.GetUtcNow(), a.SentAt);
        Assert.Equal(a.Id, b.InResponseTo);
    }
}
