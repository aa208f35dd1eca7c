using System.Buffers;
using System.Text.Json;

namespace TelehealthMessaging.Transport;

/// <summary>
/// One reused buffer that a socket's outgoing JSON frames are written into and sent from, one frame at a time under the
/// socket's send lock. The client transport and the relay's WebSocket sessions both use it: a new array per frame
/// (and, through a stream, the writer's own growth steps) was most of their garbage at high message rates.
/// </summary>
/// <param name="initialBytes">The buffer's size when it is first made, at the first frame.</param>
internal sealed class FrameBuffer(int initialBytes)
{
    // A frame larger than this (an unusually large batch or envelope) does not keep its buffer for the socket's life.
    private const int MaxRetainedBytes = 64 * 1024;

    private ArrayBufferWriter<byte>? _buffer;

    /// <summary>Writes a frame; the memory returned is valid until the next <see cref="Write"/> or <see cref="Release"/>.</summary>
    public ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> write)
    {
        _buffer ??= new ArrayBufferWriter<byte>(initialBytes);
        _buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            write(writer);
        }

        return _buffer.WrittenMemory;
    }

    /// <summary>Done with the frame: a buffer grown past what is kept is let go.</summary>
    public void Release()
    {
        if (_buffer is { Capacity: > MaxRetainedBytes })
        {
            _buffer = null;
        }
    }
}
