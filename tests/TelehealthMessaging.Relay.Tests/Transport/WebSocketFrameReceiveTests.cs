using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Relay.Tests.Transport;

/// <summary>
/// How the WebSocket transport reads frames, on a client socket over a stream of pre-encoded relay frames: every read
/// completes synchronously, so allocations can be measured on the test's own thread.
/// </summary>
public sealed class WebSocketFrameReceiveTests
{
    private static readonly RelayTransportOptions Options = new() { DeadConnectionTimeout = TimeSpan.FromMinutes(1) };

    [Fact]
    public async Task Receiving_a_frame_allocates_far_less_than_a_fresh_64_KiB_buffer()
    {
        const int Frames = 100;
        using WebSocket socket = SocketReading(Enumerable.Range(1, Frames + 1).Select(i => EnvelopeFrame(i, RandomNumberGenerator.GetBytes(256))));
        Assert.IsType<IncomingEnvelope>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None)); // warm-up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Frames; i++)
        {
            Assert.IsType<IncomingEnvelope>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None));
        }

        long perFrame = (GC.GetAllocatedBytesForCurrentThread() - before) / Frames;
        Assert.True(perFrame < 16 * 1024, $"{perFrame.ToString(CultureInfo.InvariantCulture)} bytes allocated per frame");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(60 * 1024)]
    [InlineData(200 * 1024)]
    public async Task An_envelope_frame_is_read_whole_whatever_its_size(int dataLength)
    {
        byte[] data = RandomNumberGenerator.GetBytes(dataLength);
        using WebSocket socket = SocketReading([EnvelopeFrame(7, data), EnvelopeFrame(8, data)]);

        var first = Assert.IsType<IncomingEnvelope>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None));
        var second = Assert.IsType<IncomingEnvelope>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None));

        Assert.Equal([new RelayCursor(7), new RelayCursor(8)], [first.Cursor, second.Cursor]);
        Assert.Equal(data, first.Data.ToArray());
        Assert.Equal(data, second.Data.ToArray());
    }

    [Fact]
    public async Task An_empty_frame_is_malformed_and_ends_the_connection_rather_than_being_skipped()
    {
        using WebSocket socket = SocketReading([[], EnvelopeFrame(1, [1, 2, 3])]);

        Assert.Null(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None));
    }

    [Fact]
    public async Task A_pong_arriving_while_the_transport_waits_for_a_frame_is_not_mistaken_for_one()
    {
        // The keep-alive's pongs arrive while the transport waits without a buffer; the frame after them is read whole.
        byte[] data = RandomNumberGenerator.GetBytes(300);
        using WebSocket socket = SocketReading([EnvelopeFrame(5, data)], prefix: [0x8A, 0x00]); // FIN, pong, no payload

        var envelope = Assert.IsType<IncomingEnvelope>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None));

        Assert.Equal(new RelayCursor(5), envelope.Cursor);
        Assert.Equal(data, envelope.Data.ToArray());
    }

    [Fact]
    public async Task An_acked_frame_yields_the_confirmed_ids()
    {
        MessageId[] ids = [MessageId.New(), MessageId.New()];
        string json = "{\"type\":\"acked\",\"ids\":[\"" + string.Join("\",\"", ids.Select(id => id.Value)) + "\"]}";
        using WebSocket socket = SocketReading([Encoding.UTF8.GetBytes(json)]);

        Assert.Equal(ids, Assert.IsType<MessageId[]>(await WebSocketRelayTransport.ReceiveFrameAsync(socket, Options, CancellationToken.None)));
    }

    private static byte[] EnvelopeFrame(long cursor, byte[] data) =>
        Encoding.UTF8.GetBytes(
            "{\"type\":\"envelope\",\"cursor\":\"" + cursor.ToString(CultureInfo.InvariantCulture)
            + "\",\"id\":\"" + MessageId.New().Value + "\",\"data\":\"" + Convert.ToBase64String(data) + "\"}");

    /// <summary>A client socket whose peer has already sent <paramref name="prefix"/> (raw frames), then <paramref name="payloads"/> as unmasked text frames.</summary>
    private static WebSocket SocketReading(IEnumerable<byte[]> payloads, byte[]? prefix = null)
    {
        var wire = new MemoryStream();
        wire.Write(prefix ?? []);
        foreach (byte[] payload in payloads)
        {
            wire.WriteByte(0x81); // FIN, text
            if (payload.Length < 126)
            {
                wire.WriteByte((byte)payload.Length);
            }
            else if (payload.Length <= ushort.MaxValue)
            {
                wire.WriteByte(126);
                wire.WriteByte((byte)(payload.Length >> 8));
                wire.WriteByte((byte)payload.Length);
            }
            else
            {
                wire.WriteByte(127);
                for (int shift = 56; shift >= 0; shift -= 8)
                {
                    wire.WriteByte((byte)((long)payload.Length >> shift));
                }
            }

            wire.Write(payload);
        }

        wire.Position = 0;
        return WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    }
}
