using System.Globalization;
using System.Text.Json;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging;

/// <summary>What the client seals into an envelope: the conversation's route and either a message or a claim notice.</summary>
/// <remarks>
/// <c>{"v":1,"conv":{"id","kind","clinic"?,"patient","peer"?},"msg":{SecureMessage}}</c> or
/// <c>{"v":1,"conv":{…},"claim":{"item","user","device","at"}}</c>; <c>at</c> is Unix milliseconds. The route travels
/// inside the ciphertext, so a device learns a new conversation's parties from its first message and the relay never does.
/// </remarks>
internal sealed class ClientPayload
{
    public const int Version = 1;

    private ClientPayload(ConversationRoute route, SecureMessage? message, ClaimNotice? claim)
    {
        Route = route;
        Message = message;
        Claim = claim;
    }

    public ConversationRoute Route { get; }

    public SecureMessage? Message { get; }

    public ClaimNotice? Claim { get; }

    public static ClientPayload ForMessage(ConversationRoute route, SecureMessage message) => new(route, message, null);

    public static ClientPayload ForClaim(ConversationRoute route, ClaimNotice claim) => new(route, null, claim);

    public byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteStartObject("conv");
            writer.WriteString("id", Route.Id.Value);
            writer.WriteString("kind", Route.Kind == ConversationKind.Clinic ? "clinic" : "direct");
            if (Route.Clinic is ClinicId clinic)
            {
                writer.WriteString("clinic", clinic.Value);
            }

            writer.WriteString("patient", Route.Patient.Value);
            if (Route.Peer is UserId peer)
            {
                writer.WriteString("peer", peer.Value);
            }

            writer.WriteEndObject();
            if (Message is not null)
            {
                writer.WritePropertyName("msg");
                writer.WriteRawValue(MessageSerializer.Serialize(Message), skipInputValidation: true);
            }
            else
            {
                writer.WriteStartObject("claim");
                writer.WriteString("item", Claim!.ItemId);
                writer.WriteString("user", Claim.ClaimedBy.Value);
                writer.WriteString("device", Claim.ClaimedByDevice.Value);
                writer.WriteNumber("at", Claim.ClaimedAt.ToUnixTimeMilliseconds());
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Parses a payload; throws <see cref="TelehealthException"/> (<see cref="TelehealthErrorCode.InvalidFormat"/>) naming the field.</summary>
    public static ClientPayload Parse(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("v", out JsonElement v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != Version)
            {
                throw Invalid("v");
            }

            JsonElement conv = Property(root, "conv", JsonValueKind.Object);
            var id = new ConversationId(Text(conv, "id"));
            ConversationKind kind = Text(conv, "kind") switch
            {
                "clinic" => ConversationKind.Clinic,
                "direct" => ConversationKind.Direct,
                _ => throw Invalid("conv.kind"),
            };
            ClinicId? clinic = conv.TryGetProperty("clinic", out _) ? new ClinicId(Text(conv, "clinic")) : null;
            var patient = new UserId(Text(conv, "patient"));
            UserId? peer = conv.TryGetProperty("peer", out _) ? new UserId(Text(conv, "peer")) : null;
            if (kind == ConversationKind.Clinic ? clinic is null || peer is not null : clinic is not null || peer is null)
            {
                throw Invalid("conv");
            }

            var route = new ConversationRoute(id, kind, clinic, patient, peer);
            if (route.ExpectedId() != id)
            {
                throw Invalid("conv.id");
            }

            if (root.TryGetProperty("msg", out JsonElement msg))
            {
                if (root.TryGetProperty("claim", out _))
                {
                    throw Invalid("claim");
                }

                SecureMessage message = MessageSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(msg.GetRawText()));
                if (message.ConversationId != id)
                {
                    throw Invalid("msg.conversationId");
                }

                return ForMessage(route, message);
            }

            JsonElement claim = Property(root, "claim", JsonValueKind.Object);
            JsonElement at = Property(claim, "at", JsonValueKind.Number);
            if (!at.TryGetInt64(out long ms) || ms < 0 || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                throw Invalid("claim.at");
            }

            string item = Text(claim, "item");
            if (!Identifier.IsValid(item))
            {
                throw Invalid("claim.item");
            }

            return ForClaim(route, new ClaimNotice(item, new UserId(Text(claim, "user")), new DeviceId(Text(claim, "device")), DateTimeOffset.FromUnixTimeMilliseconds(ms)));
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FormatException or InvalidOperationException)
        {
            throw new TelehealthException(TelehealthErrorCode.InvalidFormat, "The message payload is malformed.", ex);
        }
    }

    private static JsonElement Property(JsonElement element, string name, JsonValueKind kind) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == kind ? value : throw Invalid(name);

    private static string Text(JsonElement element, string name) => Property(element, name, JsonValueKind.String).GetString()!;

    private static TelehealthException Invalid(string field) =>
        new(TelehealthErrorCode.InvalidFormat, string.Create(CultureInfo.InvariantCulture, $"The message payload field '{field}' is missing or invalid."));
}

/// <summary>The parties of a conversation, as every message carries them.</summary>
internal sealed record ConversationRoute(ConversationId Id, ConversationKind Kind, ClinicId? Clinic, UserId Patient, UserId? Peer)
{
    public static ConversationRoute ForClinic(UserId patient, ClinicId clinic) =>
        new(Conversation.ClinicConversationId(patient, clinic), ConversationKind.Clinic, clinic, patient, null);

    public static ConversationRoute ForDirect(UserId a, UserId b)
    {
        (UserId first, UserId second) = string.CompareOrdinal(a.Value, b.Value) <= 0 ? (a, b) : (b, a);
        return new(Conversation.DirectConversationId(first, second), ConversationKind.Direct, null, first, second);
    }

    public ConversationId ExpectedId() => Kind == ConversationKind.Clinic
        ? Conversation.ClinicConversationId(Patient, Clinic!.Value)
        : Conversation.DirectConversationId(Patient, Peer!.Value);

    /// <summary>Whether <paramref name="user"/> is a party by name (clinicians of a clinic conversation are checked against the clinic roster instead).</summary>
    public bool Names(UserId user) => Patient == user || Peer == user;
}

/// <summary>A clinician's winning claim on a clinic work item, announced to the conversation.</summary>
internal sealed record ClaimNotice(string ItemId, UserId ClaimedBy, DeviceId ClaimedByDevice, DateTimeOffset ClaimedAt);
