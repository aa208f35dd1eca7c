using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// A device with its own Ed25519 identity key and X25519 agreement key, registered with the relay the way the SDK
/// registers one. The library's key and signature types are internal, so the tool signs with BouncyCastle directly;
/// the relay verifying every request proves the two agree.
/// </summary>
internal sealed class LoadDevice
{
    private const string SignatureDomain = "TelehealthMessaging-Relay-v1";
    private static readonly SecureRandom Random = new();

    private readonly Ed25519PrivateKeyParameters _identityKey = new(Random);
    private readonly X25519PrivateKeyParameters _agreementKey = new(Random);

    public LoadDevice()
    {
        UserId = UserId.New();
        DeviceId = DeviceId.New();
    }

    public UserId UserId { get; }

    public DeviceId DeviceId { get; }

    /// <summary>Signs the relay's canonical request bytes (the transport's <c>RequestSigner</c>).</summary>
    public byte[] Sign(ReadOnlyMemory<byte> data)
    {
        byte[] signature = new byte[Ed25519PrivateKeyParameters.SignatureSize];
        byte[] message = data.ToArray();
        _identityKey.Sign(Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.Algorithm.Ed25519, null, message, 0, message.Length, signature, 0);
        return signature;
    }

    /// <summary>Registers the device (POST /v1/devices, signed by its own identity key).</summary>
    public async Task RegisterAsync(HttpClient http, CancellationToken ct)
    {
        byte[] agreement = _agreementKey.GeneratePublicKey().GetEncoded();
        byte[] signing = _identityKey.GeneratePublicKey().GetEncoded();

        // The identity binding the relay verifies: label ‖ algorithm 0x01 ‖ signing key ‖ agreement key (see IdentityKey).
        byte[] binding = [.. "TelehealthMessaging_IdentityBinding_v1"u8, 0x01, .. signing, .. agreement];
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["userId"] = UserId.Value,
            ["deviceId"] = DeviceId.Value,
            ["identityKey"] = signing,
            ["agreementKey"] = agreement,
            ["agreementKeySignature"] = Sign(binding),
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/devices") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        AddSignature(request.Headers, "POST", "/v1/devices", body);
        using HttpResponseMessage response = await http.SendAsync(request, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Registering a device answered {(int)response.StatusCode}.");
        }
    }

    /// <summary>
    /// A well-formed version-1 sealed envelope of <paramref name="totalBytes"/> for <paramref name="recipient"/>:
    /// header, then random bytes standing in for the encapsulated key and ciphertext. The first 8 ciphertext bytes carry
    /// <paramref name="timestamp"/> (a Stopwatch timestamp) so that the recipient can measure latency; the relay never
    /// looks inside the ciphertext.
    /// </summary>
    public static byte[] Envelope(DeviceId recipient, int totalBytes, long timestamp)
    {
        string id = recipient.Value;
        int headerLength = 2 + id.Length;
        const int encapsulatedKeySize = 32;
        int minimum = headerLength + encapsulatedKeySize + 16;
        byte[] envelope = new byte[Math.Max(totalBytes, minimum)];
        envelope[0] = 1;
        envelope[1] = (byte)id.Length;
        Encoding.ASCII.GetBytes(id, envelope.AsSpan(2));
        RandomNumberGenerator.Fill(envelope.AsSpan(headerLength));
        BinaryPrimitives.WriteInt64LittleEndian(envelope.AsSpan(headerLength + encapsulatedKeySize), timestamp);
        return envelope;
    }

    /// <summary>Reads the timestamp <see cref="Envelope"/> wrote.</summary>
    public static long TimestampOf(ReadOnlySpan<byte> envelope) =>
        BinaryPrimitives.ReadInt64LittleEndian(envelope[(2 + envelope[1] + 32)..]);

    /// <summary>Stopwatch ticks between an envelope's timestamp and now.</summary>
    public static long TicksSince(ReadOnlySpan<byte> envelope) => Stopwatch.GetTimestamp() - TimestampOf(envelope);

    private void AddSignature(HttpRequestHeaders headers, string method, string pathAndQuery, byte[] body)
    {
        string nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        string timestamp = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        string digest = Convert.ToHexStringLower(SHA256.HashData(body));
        byte[] canonical = Encoding.UTF8.GetBytes(string.Join('\n', SignatureDomain, method, pathAndQuery, timestamp, nonce, digest));
        headers.TryAddWithoutValidation("X-Telehealth-Device", DeviceId.Value);
        headers.TryAddWithoutValidation("X-Telehealth-Timestamp", timestamp);
        headers.TryAddWithoutValidation("X-Telehealth-Nonce", nonce);
        headers.TryAddWithoutValidation("X-Telehealth-Signature", Base64Url.EncodeToString(Sign(canonical)));
    }
}
