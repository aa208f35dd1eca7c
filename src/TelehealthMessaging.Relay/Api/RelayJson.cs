using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace TelehealthMessaging.Relay.Api;

// Wire shapes of the /v1 API. Binary values are standard base64 strings (what System.Text.Json writes for byte[]).
// Requests refuse unknown members, so a misspelt field is a 400 rather than silently ignored.

internal sealed class RegisterDeviceRequest
{
    public string? UserId { get; set; }

    public string? DeviceId { get; set; }

    public byte[]? IdentityKey { get; set; }

    public byte[]? AgreementKey { get; set; }

    public byte[]? AgreementKeySignature { get; set; }
}

internal sealed record DeviceResponse(string UserId, string DeviceId, byte[] IdentityKey, byte[] AgreementKey, byte[] AgreementKeySignature, byte[]? EnvelopeKey);

internal sealed record DeviceListResponse(IReadOnlyList<DeviceResponse> Devices);

internal sealed class OneTimePrekeyMessage
{
    public long? KeyId { get; set; }

    public byte[]? Key { get; set; }
}

internal sealed class PrekeyUploadRequest
{
    public byte[]? EnvelopeKey { get; set; }

    public byte[]? SignedPrekey { get; set; }

    public byte[]? LastResortKemPrekey { get; set; }

    public List<OneTimePrekeyMessage>? OneTimePrekeys { get; set; }

    public List<OneTimePrekeyMessage>? OneTimeKemPrekeys { get; set; }
}

internal sealed record PrekeyBundleResponse(DeviceResponse Device, byte[] SignedPrekey, OneTimePrekeyMessage? OneTimePrekey, OneTimePrekeyMessage KemPrekey, bool KemPrekeyIsLastResort);

internal sealed class SubmitEnvelope
{
    public string? Id { get; set; }

    public string? RecipientDeviceId { get; set; }

    public byte[]? Data { get; set; }
}

internal sealed class SubmitRequest
{
    public List<SubmitEnvelope>? Envelopes { get; set; }
}

internal sealed record SubmitResult(string Id, string RecipientDeviceId, string Status);

internal sealed record SubmitResponse(IReadOnlyList<SubmitResult> Results);

internal sealed record PendingEnvelopeMessage(string Cursor, string Id, byte[] Data);

internal sealed record FetchResponse(IReadOnlyList<PendingEnvelopeMessage> Envelopes, string Cursor);

internal sealed class AcknowledgeRequest
{
    public List<string>? Ids { get; set; }
}

internal sealed record AcknowledgeResponse(int Deleted);

/// <summary>Server → client WebSocket frame: <c>{"type":"envelope","cursor","id","data"}</c>.</summary>
internal sealed record PushFrame(string Type, string Cursor, string Id, byte[] Data);

/// <summary>
/// Client → server WebSocket frame: <c>{"type":"ack","ids":[…]}</c>, or <c>{"type":"send","request","envelopes":[…]}</c>
/// (the envelopes as in POST /v1/messages; <c>request</c> is the client's token for matching the answer).
/// </summary>
internal sealed class ClientFrame
{
    public string? Type { get; set; }

    [JsonConverter(typeof(FrameIdsConverter))]
    public List<string>? Ids { get; set; }

    public string? Request { get; set; }

    [JsonConverter(typeof(FrameEnvelopesConverter))]
    public List<SubmitEnvelope>? Envelopes { get; set; }
}

/// <summary>
/// Reads a frame's list the way System.Text.Json's own list converter does, element by element with the element's
/// metadata, but as a value converter: a list read by the built-in converter nests a second level in the serializer's
/// read state, whose array (about 1 KB) was then allocated anew for every frame, 11 % of the relay's garbage at
/// 5,000 frames a second. The frame object and each envelope are still read by the generated code, strict as before.
/// </summary>
internal abstract class FrameListConverter<T>(Func<JsonTypeInfo<T>> element) : JsonConverter<List<T>>
{
    public override List<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("Expected an array.");
        }

        JsonTypeInfo<T> typeInfo = element();
        var list = new List<T>();
        while (true)
        {
            if (!reader.Read())
            {
                throw new JsonException("The array is not closed.");
            }

            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return list;
            }

            list.Add(JsonSerializer.Deserialize(ref reader, typeInfo)!);
        }
    }

    public override void Write(Utf8JsonWriter writer, List<T> value, JsonSerializerOptions options)
    {
        JsonTypeInfo<T> typeInfo = element();
        writer.WriteStartArray();
        foreach (T item in value)
        {
            JsonSerializer.Serialize(writer, item, typeInfo);
        }

        writer.WriteEndArray();
    }
}

internal sealed class FrameIdsConverter() : FrameListConverter<string>(() => RelayJsonContext.Default.String);

internal sealed class FrameEnvelopesConverter() : FrameListConverter<SubmitEnvelope>(() => RelayJsonContext.Default.SubmitEnvelope);

/// <summary>Server → client answer to a <c>send</c> frame that was stored: <c>{"type":"sent","request","results":[…]}</c>.</summary>
internal sealed record SentFrame(string Type, string Request, IReadOnlyList<SubmitResult> Results);

/// <summary>
/// Server → client answer to a <c>send</c> frame that stored nothing: the status and problem code POST /v1/messages
/// would have answered, and the retry delay in seconds where it gives one.
/// </summary>
internal sealed record RefusedFrame(string Type, string Request, int Status, string Code, string Title, int? RetryAfter);

internal sealed record WorkItemClaimResponse(string ItemId, string UserId, string DeviceId, DateTimeOffset ClaimedAt);

internal sealed record HealthResponse(string Status);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowDuplicateProperties = false,
    MaxDepth = 16)]
[JsonSerializable(typeof(RegisterDeviceRequest))]
[JsonSerializable(typeof(DeviceResponse))]
[JsonSerializable(typeof(DeviceListResponse))]
[JsonSerializable(typeof(PrekeyUploadRequest))]
[JsonSerializable(typeof(PrekeyBundleResponse))]
[JsonSerializable(typeof(SubmitRequest))]
[JsonSerializable(typeof(SubmitResponse))]
[JsonSerializable(typeof(FetchResponse))]
[JsonSerializable(typeof(AcknowledgeRequest))]
[JsonSerializable(typeof(AcknowledgeResponse))]
[JsonSerializable(typeof(PushFrame))]
[JsonSerializable(typeof(ClientFrame))]
[JsonSerializable(typeof(SentFrame))]
[JsonSerializable(typeof(RefusedFrame))]
[JsonSerializable(typeof(WorkItemClaimResponse))]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class RelayJsonContext : JsonSerializerContext;
