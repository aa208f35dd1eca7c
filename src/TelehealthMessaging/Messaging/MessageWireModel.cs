using System.Text.Json;
using System.Text.Json.Serialization;

namespace TelehealthMessaging.Messaging;

// The wire shape of a message, version 1. These DTOs mirror the JSON exactly; MessageSerializer maps them to and from
// the public model and does every check the public constructors do. `required` members must be present; nullable
// annotations are enforced, so a null where a value is required is a format error. Duplicate properties are refused:
// two readers must never disagree about which "type" or "key" a message carries.
internal sealed class MessageDto
{
    [JsonPropertyName("v")]
    public required int Version { get; init; }

    public required string Id { get; init; }

    public required string ConversationId { get; init; }

    public required ParticipantDto Sender { get; init; }

    public required string SenderDevice { get; init; }

    public required DateTimeOffset SentAt { get; init; }

    public string? InResponseTo { get; init; }

    public required JsonElement Content { get; init; }
}

internal sealed class ParticipantDto
{
    public required string Id { get; init; }

    public required string Role { get; init; }
}

internal sealed class TextDto
{
    public string Type { get; init; } = ContentTypeNames.Text;

    public required string Text { get; init; }
}

internal sealed class IntakeSubmissionDto
{
    public string Type { get; init; } = ContentTypeNames.IntakeSubmission;

    public required string SubmissionId { get; init; }

    public required string Questionnaire { get; init; }

    // Embedded as a JSON object, not as a string holding JSON.
    public required JsonElement QuestionnaireResponse { get; init; }
}

internal sealed class CallbackRequestDto
{
    public string Type { get; init; } = ContentTypeNames.CallbackRequest;

    public required string Id { get; init; }

    public required ParticipantDto Patient { get; init; }

    public required ParticipantDto Clinic { get; init; }

    public required string Reason { get; init; }

    public required string PhoneNumber { get; init; }

    public required string Medium { get; init; }

    // The priority at creation; raises are replayed from the history.
    public required string Priority { get; init; }

    public required IReadOnlyList<WindowDto> PreferredWindows { get; init; }

    public string? LinkedIntakeId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required int MaxAttempts { get; init; }

    public required IReadOnlyList<TransitionDto> History { get; init; }
}

internal sealed class WindowDto
{
    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset End { get; init; }
}

internal sealed class TransitionDto
{
    public required string Action { get; init; }

    public required string From { get; init; }

    public required string To { get; init; }

    public required ParticipantDto Actor { get; init; }

    public required DateTimeOffset At { get; init; }

    public string? Reason { get; init; }

    public WindowDto? Window { get; init; }

    public required int Attempt { get; init; }

    public string? Priority { get; init; }
}

internal sealed class CallbackTransitionDto
{
    public string Type { get; init; } = ContentTypeNames.CallbackTransition;

    public required string RequestId { get; init; }

    public required TransitionDto Transition { get; init; }
}

internal sealed class ReceiptDto
{
    public string Type { get; init; } = ContentTypeNames.Receipt;

    public required string Kind { get; init; }

    public required IReadOnlyList<string> MessageIds { get; init; }
}

internal sealed class AttachmentReferenceDto
{
    public string Type { get; init; } = ContentTypeNames.AttachmentReference;

    public required string AttachmentId { get; init; }

    public required long Size { get; init; }

    public required string MediaType { get; init; }

    // byte[] is written as base64.
    public required byte[] Sha256 { get; init; }

    public required byte[] Key { get; init; }

    public string? FileName { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(MessageDto))]
[JsonSerializable(typeof(TextDto))]
[JsonSerializable(typeof(IntakeSubmissionDto))]
[JsonSerializable(typeof(CallbackRequestDto))]
[JsonSerializable(typeof(CallbackTransitionDto))]
[JsonSerializable(typeof(ReceiptDto))]
[JsonSerializable(typeof(AttachmentReferenceDto))]
internal sealed partial class MessageJsonContext : JsonSerializerContext;
