using System.Text.Json;
using TelehealthMessaging.Callbacks;

namespace TelehealthMessaging.Messaging;

/// <summary>
/// Turns a <see cref="SecureMessage"/> into the UTF-8 JSON plaintext the encryption layer seals, and back.
/// </summary>
/// <remarks>
/// <para>
/// The JSON carries <c>"v": 1</c>. Readers ignore fields they do not know, so later versions may add fields without
/// changing <c>v</c>; a different <c>v</c> means an incompatible shape and is refused. Content whose <c>type</c> is
/// unknown becomes <see cref="UnknownContent"/> instead of an error.
/// </para>
/// <para>
/// Input that is not a valid message (malformed JSON, a missing or wrong-typed field, an unsupported version, an
/// invalid id or callback history) throws <see cref="TelehealthException"/> with
/// <see cref="TelehealthErrorCode.InvalidFormat"/>; its message never quotes the input.
/// </para>
/// </remarks>
public static class MessageSerializer
{
    /// <summary>The wire format version written and accepted.</summary>
    public const int Version = 1;

    private const int MaxUnknownTypeLength = 64;

    private static readonly MessageJsonContext Json = MessageJsonContext.Default;

    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>Serializes <paramref name="message"/> as UTF-8 JSON.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    public static byte[] Serialize(SecureMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var dto = new MessageDto
        {
            Version = Version,
            Id = message.Id.Value,
            ConversationId = message.ConversationId.Value,
            Sender = ToDto(message.Sender),
            SenderDevice = message.SenderDevice.Value,
            SentAt = message.SentAt,
            InResponseTo = message.InResponseTo?.Value,
            Content = ContentToElement(message.Content),
        };
        return JsonSerializer.SerializeToUtf8Bytes(dto, Json.MessageDto);
    }

    /// <summary>Reads a message from UTF-8 JSON made by <see cref="Serialize"/> (of this or a compatible version).</summary>
    /// <param name="utf8Json">The UTF-8 JSON bytes.</param>
    /// <returns>The message.</returns>
    /// <exception cref="TelehealthException">The input is not a valid message (<see cref="TelehealthErrorCode.InvalidFormat"/>).</exception>
    public static SecureMessage Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            // Parse rejects trailing data and, with these options, duplicate properties anywhere in the document.
            using JsonDocument document = JsonDocument.Parse(utf8Json.ToArray(), DocumentOptions);
            return Read(document.RootElement);
        }
        catch (JsonException ex)
        {
            // The parser's own message can quote input; the path names our fields only.
            throw Invalid(ex.Path is { Length: > 1 } path ? $"it is not well-formed JSON of the expected shape (at {path})" : "it is not well-formed JSON of the expected shape");
        }
        catch (InvalidOperationException)
        {
            throw Invalid("a field has the wrong JSON type");
        }
        catch (ArgumentException ex)
        {
            throw Invalid($"a value is malformed (field {ex.ParamName ?? "unknown"})");
        }
        catch (FormatException)
        {
            throw Invalid("a value is malformed");
        }
        catch (CallbackValidationException ex)
        {
            throw Invalid("the callback data is invalid", ex);
        }
        catch (InvalidCallbackTransitionException ex)
        {
            throw Invalid("the callback history is not a valid sequence of transitions", ex);
        }
    }

    private static SecureMessage Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("it is not a JSON object");
        }

        if (!root.TryGetProperty("v", out JsonElement v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version))
        {
            throw Invalid("the version field \"v\" is missing or not an integer");
        }

        if (version != Version)
        {
            throw Invalid(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"version {version} is not supported (only {Version})"));
        }

        MessageDto dto = root.Deserialize(Json.MessageDto) ?? throw Invalid("it is null");
        return new SecureMessage(
            new MessageId(dto.Id),
            new ConversationId(dto.ConversationId),
            FromDto(dto.Sender),
            new DeviceId(dto.SenderDevice),
            dto.SentAt,
            ReadContent(dto.Content),
            dto.InResponseTo is null ? null : new MessageId(dto.InResponseTo));
    }

    private static MessageContent ReadContent(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object
            || !content.TryGetProperty("type", out JsonElement typeElement)
            || typeElement.ValueKind != JsonValueKind.String)
        {
            throw Invalid("the content is not an object with a string \"type\"");
        }

        string type = typeElement.GetString()!;
        switch (type)
        {
            case ContentTypeNames.Text:
                return new TextContent(Deserialize(content, Json.TextDto).Text);
            case ContentTypeNames.IntakeSubmission:
                IntakeSubmissionDto intake = Deserialize(content, Json.IntakeSubmissionDto);
                return new IntakeSubmissionContent(new IntakeSubmissionId(intake.SubmissionId), intake.Questionnaire, intake.QuestionnaireResponse.GetRawText());
            case ContentTypeNames.CallbackRequest:
                return new CallbackRequestContent(FromDto(Deserialize(content, Json.CallbackRequestDto)));
            case ContentTypeNames.CallbackTransition:
                CallbackTransitionDto transition = Deserialize(content, Json.CallbackTransitionDto);
                return new CallbackTransitionContent(new CallbackRequestId(transition.RequestId), FromDto(transition.Transition));
            case ContentTypeNames.Receipt:
                ReceiptDto receipt = Deserialize(content, Json.ReceiptDto);
                return new ReceiptContent(WireNames.ReceiptKinds.Read(receipt.Kind, "kind"), receipt.MessageIds.Select(id => new MessageId(id)));
            case ContentTypeNames.AttachmentReference:
                AttachmentReferenceDto a = Deserialize(content, Json.AttachmentReferenceDto);
                return new AttachmentReferenceContent(a.AttachmentId, a.Size, a.MediaType, a.Sha256, a.Key, a.FileName);
            default:
                // Bounded and plain so that an unknown type name is safe to show in ToString and logs.
                if (type.Length is 0 or > MaxUnknownTypeLength || type.Any(c => !char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c is not ('-' or '.')))
                {
                    throw Invalid("the content type is not a lower-case token of at most 64 characters");
                }

                return new UnknownContent(type, content.GetRawText());
        }
    }

    private static T Deserialize<T>(JsonElement element, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo) =>
        element.Deserialize(typeInfo) ?? throw Invalid("the content is null");

    private static JsonElement ContentToElement(MessageContent content) => content switch
    {
        TextContent text => JsonSerializer.SerializeToElement(new TextDto { Text = text.Text }, Json.TextDto),
        IntakeSubmissionContent intake => IntakeToElement(intake),
        CallbackRequestContent callback => JsonSerializer.SerializeToElement(ToDto(callback.Request), Json.CallbackRequestDto),
        CallbackTransitionContent transition => JsonSerializer.SerializeToElement(
            new CallbackTransitionDto { RequestId = transition.RequestId.Value, Transition = ToDto(transition.Transition) },
            Json.CallbackTransitionDto),
        ReceiptContent receipt => JsonSerializer.SerializeToElement(
            new ReceiptDto { Kind = WireNames.ReceiptKinds.Write(receipt.Kind), MessageIds = [.. receipt.MessageIds.Select(id => id.Value)] },
            Json.ReceiptDto),
        AttachmentReferenceContent a => JsonSerializer.SerializeToElement(
            new AttachmentReferenceDto
            {
                AttachmentId = a.AttachmentId,
                Size = a.Size,
                MediaType = a.MediaType,
                Sha256 = a.Sha256.ToArray(),
                Key = a.Key.ToArray(),
                FileName = a.FileName,
            },
            Json.AttachmentReferenceDto),
        UnknownContent unknown => ParseElement(unknown.Json),
        _ => throw new ArgumentException("The content type cannot be serialized.", nameof(content)),
    };

    private static JsonElement IntakeToElement(IntakeSubmissionContent intake)
    {
        var dto = new IntakeSubmissionDto
        {
            SubmissionId = intake.SubmissionId.Value,
            Questionnaire = intake.QuestionnaireCanonical,
            QuestionnaireResponse = ParseElement(intake.QuestionnaireResponseJson),
        };
        return JsonSerializer.SerializeToElement(dto, Json.IntakeSubmissionDto);
    }

    private static JsonElement ParseElement(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static ParticipantDto ToDto(Participant participant) =>
        new() { Id = participant.Id.Value, Role = WireNames.Roles.Write(participant.Role) };

    private static Participant FromDto(ParticipantDto dto) =>
        new(new UserId(dto.Id), WireNames.Roles.Read(dto.Role, "role"));

    private static WindowDto ToDto(CallbackWindow window) => new() { Start = window.Start, End = window.End };

    private static CallbackWindow FromDto(WindowDto dto) => new(dto.Start, dto.End);

    private static CallbackRequestDto ToDto(CallbackRequest request) => new()
    {
        Id = request.Id.Value,
        Patient = ToDto(request.Patient),
        Clinic = ToDto(request.Clinic),
        Reason = request.Reason,
        PhoneNumber = request.PhoneNumber.Value,
        Medium = WireNames.Media.Write(request.Medium),
        Priority = WireNames.Priorities.Write(request.InitialPriority),
        PreferredWindows = [.. request.PreferredWindows.Select(ToDto)],
        LinkedIntakeId = request.LinkedIntakeId?.Value,
        CreatedAt = request.CreatedAt,
        MaxAttempts = request.MaxAttempts,
        History = [.. request.History.Select(ToDto)],
    };

    private static CallbackRequest FromDto(CallbackRequestDto dto) => CallbackRequest.Restore(
        new CallbackRequestId(dto.Id),
        FromDto(dto.Patient),
        FromDto(dto.Clinic),
        dto.Reason,
        dto.PhoneNumber,
        WireNames.Media.Read(dto.Medium, "medium"),
        WireNames.Priorities.Read(dto.Priority, "priority"),
        [.. dto.PreferredWindows.Select(FromDto)],
        dto.LinkedIntakeId is null ? null : new IntakeSubmissionId(dto.LinkedIntakeId),
        dto.CreatedAt,
        dto.MaxAttempts,
        dto.History.Select(FromDto));

    private static TransitionDto ToDto(CallbackTransition transition) => new()
    {
        Action = WireNames.Actions.Write(transition.Action),
        From = WireNames.States.Write(transition.From),
        To = WireNames.States.Write(transition.To),
        Actor = ToDto(transition.Actor),
        At = transition.At,
        Reason = transition.Reason,
        Window = transition.Window is { } window ? ToDto(window) : null,
        Attempt = transition.Attempt,
        Priority = transition.Priority is { } priority ? WireNames.Priorities.Write(priority) : null,
    };

    private static CallbackTransition FromDto(TransitionDto dto) => new(
        WireNames.Actions.Read(dto.Action, "action"),
        WireNames.States.Read(dto.From, "from"),
        WireNames.States.Read(dto.To, "to"),
        FromDto(dto.Actor),
        dto.At,
        dto.Reason,
        dto.Window is null ? null : FromDto(dto.Window),
        dto.Attempt,
        dto.Priority is null ? null : WireNames.Priorities.Read(dto.Priority, "priority"));

    private static TelehealthException Invalid(string what, Exception? inner = null) =>
        new(TelehealthErrorCode.InvalidFormat, $"The message is invalid: {what}.", inner);
}
