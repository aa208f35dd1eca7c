using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

/// <summary>
/// The relay's directory over its HTTP API (docs/relay.md), signed like every relay request. Answers are checked before
/// they are returned: identities' bindings, envelope keys and bundles must verify, and must belong to the device asked
/// for, so a relay cannot substitute keys unnoticed.
/// </summary>
internal sealed class HttpRelayDirectory : IRelayDirectory
{
    private const int CopyBufferSize = 81920;

    private readonly HttpClient _http;
    private readonly HttpClient _blobHttp;
    private readonly bool _ownsClient;
    private readonly Uri _baseAddress;
    private readonly UserId _user;
    private readonly DeviceId _device;
    private readonly Func<ReadOnlyMemory<byte>, byte[]> _signer;
    private readonly TimeProvider _time;
    private bool _disposed;

    /// <param name="http">The named relay client (resilience and signing handlers), or <see langword="null"/> to create an own client with the signing handler only.</param>
    /// <param name="options">Endpoint, device, request signer and clock.</param>
    /// <param name="user">The user the device belongs to.</param>
    /// <param name="blobHttp">The named attachment client (timeouts for large blobs), or <see langword="null"/> to use <paramref name="http"/>.</param>
    public HttpRelayDirectory(HttpClient? http, RelayTransportOptions options, UserId user, HttpClient? blobHttp = null)
    {
        _signer = options.RequestSigner ?? throw new ArgumentException("RequestSigner is required for HTTP endpoints.", nameof(options));
        _ownsClient = http is null;
        _http = http ?? new HttpClient(new RelaySigningHandler { InnerHandler = new SocketsHttpHandler() });
        _blobHttp = blobHttp ?? _http;
        _baseAddress = RelayHttp.BaseAddress(options.Endpoint!);
        _user = user;
        _device = options.Device;
        _time = options.TimeProvider;
    }

    public async Task RegisterAsync(IdentityKey identity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        byte[] body = RelayHttp.Json(writer =>
        {
            writer.WriteString("userId", _user.Value);
            writer.WriteString("deviceId", _device.Value);
            writer.WriteBase64String("identityKey", identity.SigningKey);
            writer.WriteBase64String("agreementKey", identity.AgreementKey);
            writer.WriteBase64String("agreementKeySignature", identity.BindingSignature);
        });
        using JsonDocument _ = await CallAsync(HttpMethod.Post, "v1/devices", body, cancellationToken).ConfigureAwait(false);
    }

    public async Task PublishKeysAsync(DeviceKeyPublication publication, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(publication);

        // The relay takes a bounded number of one-time prekeys per request; larger refills go in several uploads, each
        // repeating the same envelope, signed and last-resort keys (replacing them with themselves changes nothing).
        foreach (DeviceKeyPublication part in DirectoryArguments.Split(publication))
        {
            byte[] body = RelayHttp.Json(writer =>
            {
                writer.WriteBase64String("envelopeKey", part.EnvelopeKey.Encode());
                writer.WriteBase64String("signedPrekey", DirectoryKeys.Encode(part.SignedPrekey));
                writer.WriteBase64String("lastResortKemPrekey", DirectoryKeys.Encode(part.LastResortKemPrekey));
                WritePrekeys(writer, "oneTimePrekeys", part.OneTimePrekeys.Where(p => p.Kind != PrekeyKind.OneTimeMLKem768));
                WritePrekeys(writer, "oneTimeKemPrekeys", part.OneTimePrekeys.Where(p => p.Kind == PrekeyKind.OneTimeMLKem768));
            });
            using JsonDocument _ = await CallAsync(HttpMethod.Put, $"v1/devices/{_device.Value}/prekeys", body, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<DirectoryDevice>> ListDevicesAsync(UserId user, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(user);
        using JsonDocument answer = await CallAsync(HttpMethod.Get, $"v1/users/{user.Value}/devices", null, cancellationToken).ConfigureAwait(false);
        List<DirectoryDevice> devices = ReadDevices(answer.RootElement);
        if (devices.Exists(d => d.User != user))
        {
            throw MalformedAnswer("listed a device of another user");
        }

        return devices;
    }

    public async Task<DirectoryBundle> ClaimBundleAsync(UserId user, DeviceId device, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(user);
        DirectoryArguments.Check(device);
        using JsonDocument answer = await CallAsync(HttpMethod.Post, $"v1/users/{user.Value}/devices/{device.Value}/bundle", [], cancellationToken).ConfigureAwait(false);
        DirectoryBundle bundle = Read(answer.RootElement, ReadBundle);
        if (bundle.Device.User != user || bundle.Device.Device != device)
        {
            throw MalformedAnswer("answered with another device's bundle");
        }

        return bundle;
    }

    public async Task RevokeDeviceAsync(DeviceId device, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(device);
        using JsonDocument _ = await CallAsync(HttpMethod.Delete, $"v1/users/{_user.Value}/devices/{device.Value}", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task JoinClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        using JsonDocument _ = await CallAsync(HttpMethod.Put, $"v1/clinics/{clinic.Value}/devices/{_device.Value}", [], cancellationToken).ConfigureAwait(false);
    }

    public async Task LeaveClinicAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        using JsonDocument _ = await CallAsync(HttpMethod.Delete, $"v1/clinics/{clinic.Value}/devices/{_device.Value}", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DirectoryDevice>> ListClinicDevicesAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        using JsonDocument answer = await CallAsync(HttpMethod.Get, $"v1/clinics/{clinic.Value}/devices", null, cancellationToken).ConfigureAwait(false);
        return ReadDevices(answer.RootElement);
    }

    public async Task<WorkItemClaim> ClaimWorkItemAsync(ClinicId clinic, string itemId, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.Check(clinic);
        DirectoryArguments.CheckItemId(itemId);
        using JsonDocument answer = await CallAsync(HttpMethod.Post, $"v1/clinics/{clinic.Value}/claims/{itemId}", [], cancellationToken).ConfigureAwait(false);
        WorkItemClaim claim = Read(answer.RootElement, root =>
        {
            var device = new DeviceId(root.GetProperty("deviceId").GetString()!);
            return new WorkItemClaim(root.GetProperty("itemId").GetString()!, new UserId(root.GetProperty("userId").GetString()!), device, root.GetProperty("claimedAt").GetDateTimeOffset(), device == _device);
        });
        if (!string.Equals(claim.ItemId, itemId, StringComparison.Ordinal))
        {
            throw MalformedAnswer("answered with another work item's claim");
        }

        return claim;
    }

    public async Task UploadBlobAsync(string blobId, Stream ciphertext, long length, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        DirectoryArguments.CheckBlob(blobId, ciphertext, length);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // The signature covers the body's digest, so the blob is read twice: once to hash, once to send. A stream that
        // cannot seek is spooled to a temporary file on the way, never into memory.
        Stream source = ciphertext;
        FileStream? spool = null;
        try
        {
            long start;
            if (ciphertext.CanSeek)
            {
                start = ciphertext.Position;
            }
            else
            {
                spool = new FileStream(Path.Combine(Path.GetTempPath(), "telehealth-upload-" + Guid.NewGuid().ToString("N") + ".tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, CopyBufferSize, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
                source = spool;
                start = 0;
            }

            string digest = await HashExactlyAsync(ciphertext, length, spool, cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_baseAddress, $"v1/attachments/{blobId}"))
            {
                Content = new UploadContent(source, start, length, progress),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            RelayHttp.SignWith(request, _device, _signer, _time, [], digest);
            using HttpResponseMessage response = await SendAsync(_blobHttp, request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (spool is not null)
            {
                await spool.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async Task<Stream> DownloadBlobAsync(string blobId, CancellationToken cancellationToken = default)
    {
        BlobId.Validate(blobId, nameof(blobId));
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_baseAddress, $"v1/attachments/{blobId}"));
        RelayHttp.SignWith(request, _device, _signer, _time, []);
        HttpResponseMessage response = await SendAsync(_blobHttp, request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
            Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ResponseStream(body, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            if (_ownsClient)
            {
                _http.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"HttpRelayDirectory({_user}, {_device})";

    private static void WritePrekeys(Utf8JsonWriter writer, string name, IEnumerable<PublicPrekey> prekeys)
    {
        writer.WriteStartArray(name);
        foreach (PublicPrekey prekey in prekeys)
        {
            writer.WriteStartObject();
            writer.WriteNumber("keyId", prekey.Id);
            writer.WriteBase64String("key", DirectoryKeys.Encode(prekey));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static List<DirectoryDevice> ReadDevices(JsonElement root) =>
        Read(root, r => r.GetProperty("devices").EnumerateArray().Select(ReadDevice).ToList());

    /// <summary>Reads one device and checks that its keys verify for it (identity binding, envelope key signed for this device id).</summary>
    private static DirectoryDevice ReadDevice(JsonElement device)
    {
        string? userId = device.GetProperty("userId").GetString();
        string? deviceId = device.GetProperty("deviceId").GetString();
        if (!Identifier.IsValid(userId) || !Identifier.IsValid(deviceId))
        {
            throw MalformedAnswer("named a device with an invalid id");
        }

        var id = new DeviceId(deviceId);
        IdentityKey identity = DirectoryKeys.Identity(
            device.GetProperty("identityKey").GetBytesFromBase64(),
            device.GetProperty("agreementKey").GetBytesFromBase64(),
            device.GetProperty("agreementKeySignature").GetBytesFromBase64());
        identity.Verify();
        SignedEnvelopeKey envelopeKey = SignedEnvelopeKey.Parse(device.GetProperty("envelopeKey").GetBytesFromBase64());
        envelopeKey.Verify(identity, id);
        return new DirectoryDevice(new UserId(userId), id, identity, envelopeKey);
    }

    private static DirectoryBundle ReadBundle(JsonElement root)
    {
        DirectoryDevice device = ReadDevice(root.GetProperty("device"));
        PublicPrekey signed = DirectoryKeys.ParsePrekey(root.GetProperty("signedPrekey").GetBytesFromBase64(), "signedPrekey");
        PublicPrekey? oneTime = root.TryGetProperty("oneTimePrekey", out JsonElement oneTimeElement) && oneTimeElement.ValueKind != JsonValueKind.Null
            ? DirectoryKeys.ParsePrekey(oneTimeElement.GetProperty("key").GetBytesFromBase64(), "oneTimePrekey")
            : null;
        PublicPrekey kem = DirectoryKeys.ParsePrekey(root.GetProperty("kemPrekey").GetProperty("key").GetBytesFromBase64(), "kemPrekey");
        var bundle = new PrekeyBundle(device.Identity, signed, oneTime, kem);
        bundle.Verify();
        return new DirectoryBundle(device, bundle);
    }

    private static T Read<T>(JsonElement root, Func<JsonElement, T> read)
    {
        try
        {
            return read(root);
        }
        catch (Exception error) when (error is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            // A missing member, a member of the wrong JSON type, bad base64 or an invalid id: not what the API promises.
            throw MalformedAnswer("answered in an unexpected shape", error);
        }
    }

    private static RelayRequestException MalformedAnswer(string what, Exception? inner = null) =>
        new(TelehealthErrorCode.InvalidFormat, null, 200, $"The relay {what}.", null, inner);

    /// <summary>Hashes exactly <paramref name="length"/> bytes of <paramref name="source"/>, copying them to <paramref name="spool"/> when given.</summary>
    private static async Task<string> HashExactlyAsync(Stream source, long length, FileStream? spool, CancellationToken cancellationToken)
    {
        long start = source.CanSeek ? source.Position : 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - total + 1)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > length)
                {
                    throw DirectoryArguments.LengthMismatch();
                }

                hash.AppendData(buffer, 0, read);
                if (spool is not null)
                {
                    await spool.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }

            if (total != length)
            {
                throw DirectoryArguments.LengthMismatch();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (source.CanSeek)
        {
            source.Position = start;
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    private async Task<JsonDocument> CallAsync(HttpMethod method, string relativePath, byte[]? body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var request = new HttpRequestMessage(method, new Uri(_baseAddress, relativePath));
        if (body is not null)
        {
            request.Content = RelayHttp.JsonContent(body);
        }

        RelayHttp.SignWith(request, _device, _signer, _time, body ?? []);
        using HttpResponseMessage response = await SendAsync(_http, request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw RelayHttp.Refusal(response, content, DirectoryRefusal.ReasonFor);
        }

        try
        {
            return content.Length == 0 ? JsonDocument.Parse("{}") : JsonDocument.Parse(content);
        }
        catch (JsonException error)
        {
            throw MalformedAnswer("answered with malformed JSON", error);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RelayHttp.IsUnreachable(error, cancellationToken))
        {
            throw RelayHttp.Unreachable(error);
        }
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            byte[] content = response.StatusCode == HttpStatusCode.NoContent ? [] : await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            throw RelayHttp.Refusal(response, content, DirectoryRefusal.ReasonFor);
        }
    }

    /// <summary>
    /// Sends exactly the hashed bytes, from <paramref name="start"/> on every attempt (a retry sends the blob again from
    /// its start), reporting the bytes sent so far.
    /// </summary>
    private sealed class UploadContent(Stream source, long start, long length, IProgress<long>? progress) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            source.Position = start;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                long sent = 0;
                while (sent < length)
                {
                    int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - sent)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw DirectoryArguments.LengthMismatch();
                    }

                    await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    sent += read;
                    progress?.Report(sent);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }

    /// <summary>The body of a download; disposing it disposes the response (and returns its connection).</summary>
    private sealed class ResponseStream(Stream inner, HttpResponseMessage response) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => response.Content.Headers.ContentLength ?? throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            response.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
