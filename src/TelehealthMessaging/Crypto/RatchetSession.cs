using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// One Double Ratchet session (Signal's Double Ratchet specification, revision 4) with a peer device, started by
/// PQXDH: X25519 DH ratchet, HMAC-SHA256 chain KDF, HKDF-SHA256 root KDF and AES-256-GCM whose associated data binds
/// both identities and the message header.
/// </summary>
/// <remarks>
/// Decryption runs on a copy of the state and replaces the state only when the message authenticated, so a refused
/// message leaves the session exactly as it was. Until the initiator has decrypted a reply, every message it sends is
/// a prekey message carrying the PQXDH preamble.
/// </remarks>
internal sealed class RatchetSession : IDisposable
{
    private const byte StateVersion = 1;
    private const int MaxClosedReceivingChains = 16;

    /// <summary>Room for the associated data of a ratchet message (identities and header) on the stack.</summary>
    private const int StackAssociatedDataSize = 256;

    /// <summary>Hard limit on a serialized session: the skipped-key limit bounds it.</summary>
    internal const int MaxSerializedSize = 2048 + (RatchetOptions.MaxSkippedMessageKeysLimit * SkippedKey.SerializedSize);

    private readonly RatchetOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly byte[] _baseKey;
    private readonly byte[] _associatedData;
    private State _state;

    private RatchetSession(IdentityKey localIdentity, IdentityKey remoteIdentity, bool isInitiator, byte[] baseKey, State state, RatchetOptions options, TimeProvider timeProvider)
    {
        LocalIdentity = localIdentity;
        RemoteIdentity = remoteIdentity;
        IsInitiator = isInitiator;
        _baseKey = baseKey;
        _state = state;
        _options = options;
        _timeProvider = timeProvider;
        _associatedData = isInitiator ? Pqxdh.AssociatedData(localIdentity, remoteIdentity) : Pqxdh.AssociatedData(remoteIdentity, localIdentity);
    }

    public IdentityKey LocalIdentity { get; }

    public IdentityKey RemoteIdentity { get; }

    /// <summary>Whether this device started the session with PQXDH.</summary>
    public bool IsInitiator { get; }

    /// <summary>The initiator's PQXDH ephemeral public key: it names the session in prekey messages.</summary>
    public ReadOnlySpan<byte> BaseKey => _baseKey;

    /// <summary>Whether sent messages still carry the PQXDH preamble (the initiator has not yet decrypted a reply).</summary>
    public bool SendsPrekeyMessages => _state.PendingPreamble is not null;

    /// <summary>The number of skipped message keys held for late or out-of-order messages.</summary>
    public int SkippedMessageKeyCount => _state.Skipped.Count;

    /// <summary>
    /// Verifies <paramref name="bundle"/>, runs PQXDH as initiator and sets up the ratchet: a fresh ratchet key against
    /// the responder's signed prekey (Signal's RatchetInitAlice).
    /// </summary>
    public static RatchetSession Initiate(DeviceIdentity local, PrekeyBundle bundle, RatchetOptions options, TimeProvider timeProvider)
    {
        byte[] sharedKey = Pqxdh.Initiate(local, bundle, out PrekeyPreamble preamble);
        try
        {
            var state = new State(X25519PrivateKey.Generate()) { PendingPreamble = preamble, RemoteRatchetKey = bundle.SignedPrekey.PublicKey.ToArray() };
            byte[] dh = new byte[X25519PrivateKey.SharedSecretSize];
            state.SendingRatchetKey.DeriveSharedSecret(bundle.SignedPrekey.PublicKey, dh);
            RatchetKdf.Root(sharedKey, dh, out state.RootKey, out byte[] sendingChain);
            state.SendingChainKey = sendingChain;
            CryptographicOperations.ZeroMemory(dh);
            return new RatchetSession(local.PublicKey, bundle.Identity, isInitiator: true, preamble.EphemeralKey.ToArray(), state, options, timeProvider);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedKey);
        }
    }

    /// <summary>
    /// Runs PQXDH as responder for <paramref name="preamble"/> and sets up the ratchet with the signed prekey as the
    /// first ratchet key (Signal's RatchetInitBob). The caller decrypts the prekey message with the result before it
    /// keeps the session or consumes any one-time prekey.
    /// </summary>
    public static RatchetSession Respond(DeviceIdentity local, DevicePrekeys prekeys, PrekeyPreamble preamble, RatchetOptions options, TimeProvider timeProvider)
    {
        byte[] sharedKey = Pqxdh.Respond(local, prekeys, preamble);
        X25519PrivateKey signed = prekeys.FindSignedPrekey(preamble.SignedPrekeyId)!;

        // A copy: the session disposes its ratchet key, and the signed prekey stays with the prekeys.
        var state = new State(signed.Copy()) { RootKey = sharedKey };
        return new RatchetSession(local.PublicKey, preamble.InitiatorIdentity, isInitiator: false, preamble.EphemeralKey.ToArray(), state, options, timeProvider);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> (at most 1 MiB) into a ratchet message, or a prekey message while one is pending.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_state is null, this);
        if (plaintext.Length > SessionMessage.MaxPlaintextSize)
        {
            throw new ArgumentException($"A message carries at most {SessionMessage.MaxPlaintextSize} bytes.", nameof(plaintext));
        }

        State state = _state;
        if (state.SendingChainKey is null)
        {
            throw new InvalidOperationException("The session cannot send before it has received the initiator's first message.");
        }

        if (state.SendCount == uint.MaxValue)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MessageLimitReached, "The sending chain has used every message number.");
        }

        state.PurgeExpired(_timeProvider.GetUtcNow());
        RatchetKdf.Chain(state.SendingChainKey, out byte[] nextChainKey, out byte[] messageKey);
        var header = new RatchetHeader(state.SendingRatchetKey.PublicKey.ToArray(), state.PreviousSendCount, state.SendCount);
        byte[] prefix = SessionMessage.EncodePrefix(state.PendingPreamble, header, plaintext.Length + Aead.TagSize);
        byte[] message = new byte[prefix.Length + plaintext.Length + Aead.TagSize];
        prefix.CopyTo(message, 0);
        Seal(messageKey, prefix, plaintext, message.AsSpan(prefix.Length));

        CryptographicOperations.ZeroMemory(messageKey);
        CryptographicOperations.ZeroMemory(state.SendingChainKey);
        state.SendingChainKey = nextChainKey;
        state.SendCount++;
        return message;
    }

    /// <summary>
    /// Decrypts a message addressed to this session. Throws <see cref="CryptographicFailureException"/> for a message
    /// that fails authentication, a replay (<see cref="CryptographicFailureReason.DuplicateMessage"/>) or one too far
    /// ahead (<see cref="CryptographicFailureReason.TooManySkippedMessages"/>); the session is then unchanged.
    /// </summary>
    public byte[] Decrypt(SessionMessage message)
    {
        ObjectDisposedException.ThrowIf(_state is null, this);
        if (message.Preamble is PrekeyPreamble preamble && !preamble.EphemeralKey.SequenceEqual(_baseKey))
        {
            throw CryptographicFailureException.AuthenticationFailed("A prekey message for another session");
        }

        State next = _state.Clone();
        byte[] plaintext;
        try
        {
            plaintext = next.Decrypt(message, this);
        }
        catch
        {
            next.DisposeBeside(_state);
            throw;
        }

        _state.DisposeBeside(next);
        _state = next;
        return plaintext;
    }

    /// <summary>
    /// The session as compact versioned binary: version ‖ flags ‖ identities ‖ base key ‖ ratchet state ‖ closed
    /// chains ‖ skipped keys (see docs/protocol.md). Contains secrets: store it encrypted.
    /// </summary>
    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_state is null, this);
        var writer = new WireWriter(512 + (_state.Skipped.Count * SkippedKey.SerializedSize));
        writer.WriteUInt8(StateVersion).WriteUInt8(IsInitiator ? (byte)1 : (byte)0);
        LocalIdentity.Write(writer);
        RemoteIdentity.Write(writer);
        writer.WriteFixed(_baseKey);
        _state.Write(writer);
        return writer.ToArray();
    }

    /// <summary>Restores what <see cref="Serialize"/> wrote, strictly: unknown versions, truncation and trailing bytes are refused.</summary>
    public static RatchetSession Deserialize(ReadOnlySpan<byte> serialized, RatchetOptions options, TimeProvider timeProvider)
    {
        if (serialized.Length > MaxSerializedSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The serialized session exceeds its maximum size.");
        }

        var reader = new WireReader(serialized);
        byte version = reader.ReadUInt8("session.version");
        if (version != StateVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Session state version {version} is not supported.");
        }

        bool isInitiator = ReadFlag(ref reader, "session.isInitiator");
        IdentityKey local = IdentityKey.Read(ref reader, "session.localIdentity");
        IdentityKey remote = IdentityKey.Read(ref reader, "session.remoteIdentity");
        byte[] baseKey = reader.ReadFixed(X25519PrivateKey.PublicKeySize, "session.baseKey").ToArray();
        State state = State.Read(ref reader);
        try
        {
            reader.EnsureEnd();
        }
        catch
        {
            state.Dispose();
            throw;
        }

        return new RatchetSession(local, remote, isInitiator, baseKey, state, options, timeProvider);
    }

    public void Dispose()
    {
        _state?.Dispose();
        _state = null!;
    }

    public override string ToString() => $"RatchetSession({(IsInitiator ? "initiator" : "responder")}, peer {RemoteIdentity})";

    private void Seal(byte[] messageKey, byte[] prefix, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        Span<byte> key = stackalloc byte[Aead.KeySize];
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        RatchetKdf.MessageKeys(messageKey, key, nonce);
        byte[]? rented = null;
        Span<byte> associatedData = AssociatedData(prefix, stackalloc byte[StackAssociatedDataSize], ref rented);
        try
        {
            Aead.Aes256Gcm.Seal(key, nonce, plaintext, associatedData, destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            Return(rented);
        }
    }

    private byte[] Open(byte[] messageKey, SessionMessage message)
    {
        Span<byte> key = stackalloc byte[Aead.KeySize];
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        RatchetKdf.MessageKeys(messageKey, key, nonce);
        byte[] plaintext = new byte[message.Ciphertext.Length - Aead.TagSize];
        byte[]? rented = null;
        Span<byte> associatedData = AssociatedData(message.Prefix, stackalloc byte[StackAssociatedDataSize], ref rented);
        try
        {
            Aead.Aes256Gcm.Open(key, nonce, message.Ciphertext, associatedData, plaintext);
        }
        catch (CryptographicFailureException)
        {
            throw CryptographicFailureException.AuthenticationFailed("A ratchet message");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            Return(rented);
        }

        return plaintext;
    }

    /// <summary>
    /// The AEAD associated data, session identities ‖ message prefix, laid out in <paramref name="stackBuffer"/> or, for
    /// a prefix too long for it (a prekey message), in a pooled array. It is public data, so the pool needs no zeroing.
    /// </summary>
    private Span<byte> AssociatedData(ReadOnlySpan<byte> prefix, Span<byte> stackBuffer, ref byte[]? rented)
    {
        int length = _associatedData.Length + prefix.Length;
        Span<byte> buffer = length <= stackBuffer.Length ? stackBuffer : (rented = ArrayPool<byte>.Shared.Rent(length));
        _associatedData.CopyTo(buffer);
        prefix.CopyTo(buffer[_associatedData.Length..]);
        return buffer[..length];
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool ReadFlag(ref WireReader reader, string field) => reader.ReadUInt8(field) switch
    {
        0 => false,
        1 => true,
        _ => throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"{field} must be 0 or 1."),
    };

    private static byte[]? ReadOptional(ref WireReader reader, string field) =>
        ReadFlag(ref reader, field + ".present") ? reader.ReadFixed(RatchetKdf.KeySize, field).ToArray() : null;

    private static void WriteOptional(WireWriter writer, byte[]? value)
    {
        if (value is null)
        {
            writer.WriteUInt8(0);
        }
        else
        {
            writer.WriteUInt8(1).WriteFixed(value);
        }
    }

    /// <summary>A message key kept for a message not yet received.</summary>
    private sealed class SkippedKey(byte[] ratchetKey, uint number, byte[] messageKey, long expiresAt)
    {
        public const int SerializedSize = 32 + 4 + 32 + 8;

        public byte[] RatchetKey { get; } = ratchetKey;

        public uint Number { get; } = number;

        public byte[] MessageKey { get; } = messageKey;

        /// <summary>Unix milliseconds after which the key is deleted.</summary>
        public long ExpiresAt { get; } = expiresAt;

        public SkippedKeyId Id => SkippedKeyId.Of(RatchetKey, Number);

        public override string ToString() => $"SkippedKey(n {Number})";
    }

    /// <summary>A skipped key's ratchet public key and message number as a value, for the index without a string per lookup.</summary>
    private readonly record struct SkippedKeyId(ulong Key0, ulong Key1, ulong Key2, ulong Key3, uint Number)
    {
        public static SkippedKeyId Of(ReadOnlySpan<byte> ratchetKey, uint number)
        {
            if (ratchetKey.Length != X25519PrivateKey.PublicKeySize)
            {
                throw new ArgumentException($"A ratchet key is {X25519PrivateKey.PublicKeySize} bytes.", nameof(ratchetKey));
            }

            return new SkippedKeyId(
                BinaryPrimitives.ReadUInt64LittleEndian(ratchetKey),
                BinaryPrimitives.ReadUInt64LittleEndian(ratchetKey[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(ratchetKey[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(ratchetKey[24..]),
                number);
        }

        // HashCode is seeded per process, as string hashing was: a peer cannot choose keys that collide.
        public override int GetHashCode() => HashCode.Combine(Key0, Key1, Key2, Key3, Number);

        public override string ToString() => $"SkippedKeyId(n {Number})";
    }

    /// <summary>The mutable ratchet state; cloned for every decryption so that only a successful one is kept.</summary>
    private sealed class State : IDisposable
    {
        public byte[] RootKey = [];
        public X25519PrivateKey SendingRatchetKey;
        public byte[]? RemoteRatchetKey;
        public byte[]? SendingChainKey;
        public byte[]? ReceivingChainKey;
        public uint SendCount;
        public uint ReceiveCount;
        public uint PreviousSendCount;
        public PrekeyPreamble? PendingPreamble;
        public List<byte[]> ClosedReceivingKeys = [];
        public LinkedList<SkippedKey> Skipped = new();
        public Dictionary<SkippedKeyId, LinkedListNode<SkippedKey>> SkippedIndex = [];

        public State(X25519PrivateKey sendingRatchetKey) => SendingRatchetKey = sendingRatchetKey;

        /// <summary>
        /// A copy to decrypt on. It shares <see cref="SendingRatchetKey"/>, which is never mutated, only replaced by a
        /// DH ratchet step; of two states that share it, only the one disposed last may dispose it: see
        /// <see cref="DisposeBeside"/>.
        /// </summary>
        public State Clone()
        {
            var copy = new State(SendingRatchetKey)
            {
                RootKey = (byte[])RootKey.Clone(),
                RemoteRatchetKey = (byte[]?)RemoteRatchetKey?.Clone(),
                SendingChainKey = (byte[]?)SendingChainKey?.Clone(),
                ReceivingChainKey = (byte[]?)ReceivingChainKey?.Clone(),
                SendCount = SendCount,
                ReceiveCount = ReceiveCount,
                PreviousSendCount = PreviousSendCount,
                PendingPreamble = PendingPreamble,
                ClosedReceivingKeys = [.. ClosedReceivingKeys],
            };
            foreach (SkippedKey key in Skipped)
            {
                copy.AddSkipped(new SkippedKey(key.RatchetKey, key.Number, (byte[])key.MessageKey.Clone(), key.ExpiresAt));
            }

            return copy;
        }

        public byte[] Decrypt(SessionMessage message, RatchetSession session)
        {
            RatchetHeader header = message.Header;
            if (header.MessageNumber == uint.MaxValue)
            {
                // No sender uses the last number (see Encrypt), and accepting it would wrap the receive counter.
                throw CryptographicFailureException.AuthenticationFailed("A ratchet message with an impossible message number");
            }

            DateTimeOffset now = session._timeProvider.GetUtcNow();
            PurgeExpired(now);

            byte[] messageKey;
            if (SkippedIndex.Count > 0 && SkippedIndex.Remove(SkippedKeyId.Of(header.RatchetKey, header.MessageNumber), out LinkedListNode<SkippedKey>? node))
            {
                Skipped.Remove(node);
                messageKey = node.Value.MessageKey;
            }
            else
            {
                if (RemoteRatchetKey is not null && header.RatchetKey.AsSpan().SequenceEqual(RemoteRatchetKey))
                {
                    if (ReceivingChainKey is null)
                    {
                        throw CryptographicFailureException.AuthenticationFailed("A ratchet message on a chain this session never received");
                    }

                    if (header.MessageNumber < ReceiveCount)
                    {
                        throw Duplicate();
                    }
                }
                else if (ClosedReceivingKeys.Exists(k => k.AsSpan().SequenceEqual(header.RatchetKey)))
                {
                    throw Duplicate();
                }
                else
                {
                    SkipTo(header.PreviousChainLength, session._options, now);
                    RatchetStep(header.RatchetKey);
                }

                SkipTo(header.MessageNumber, session._options, now);
                RatchetKdf.Chain(ReceivingChainKey!, out byte[] nextChainKey, out messageKey);
                CryptographicOperations.ZeroMemory(ReceivingChainKey!);
                ReceivingChainKey = nextChainKey;
                ReceiveCount = header.MessageNumber + 1;
            }

            try
            {
                byte[] plaintext = session.Open(messageKey, message);

                // An authenticated reply proves the responder holds the session: stop sending the preamble.
                PendingPreamble = null;
                return plaintext;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(messageKey);
            }
        }

        public void PurgeExpired(DateTimeOffset now)
        {
            long nowMs = now.ToUnixTimeMilliseconds();
            LinkedListNode<SkippedKey>? node = Skipped.First;
            while (node is not null)
            {
                LinkedListNode<SkippedKey>? following = node.Next;
                if (node.Value.ExpiresAt <= nowMs)
                {
                    RemoveSkipped(node);
                }

                node = following;
            }
        }

        public void Write(WireWriter writer)
        {
            writer.WriteFixed(RootKey);
            byte[] ratchetKey = new byte[X25519PrivateKey.KeySize];
            SendingRatchetKey.Export(ratchetKey);
            writer.WriteFixed(ratchetKey);
            CryptographicOperations.ZeroMemory(ratchetKey);
            WriteOptional(writer, RemoteRatchetKey);
            WriteOptional(writer, SendingChainKey);
            WriteOptional(writer, ReceivingChainKey);
            writer.WriteUInt32(SendCount).WriteUInt32(ReceiveCount).WriteUInt32(PreviousSendCount);
            if (PendingPreamble is null)
            {
                writer.WriteUInt8(0);
            }
            else
            {
                writer.WriteUInt8(1);
                PendingPreamble.Write(writer);
            }

            writer.WriteUInt8((byte)ClosedReceivingKeys.Count);
            foreach (byte[] key in ClosedReceivingKeys)
            {
                writer.WriteFixed(key);
            }

            writer.WriteUInt32((uint)Skipped.Count);
            foreach (SkippedKey key in Skipped)
            {
                writer.WriteFixed(key.RatchetKey).WriteUInt32(key.Number).WriteFixed(key.MessageKey).WriteUInt64((ulong)key.ExpiresAt);
            }
        }

        public static State Read(ref WireReader reader)
        {
            byte[] rootKey = reader.ReadFixed(RatchetKdf.KeySize, "session.rootKey").ToArray();
            var state = new State(X25519PrivateKey.Import(reader.ReadFixed(X25519PrivateKey.KeySize, "session.sendingRatchetKey")));
            try
            {
                state.RootKey = rootKey;
                state.RemoteRatchetKey = ReadOptional(ref reader, "session.remoteRatchetKey");
                state.SendingChainKey = ReadOptional(ref reader, "session.sendingChainKey");
                state.ReceivingChainKey = ReadOptional(ref reader, "session.receivingChainKey");
                state.SendCount = reader.ReadUInt32("session.sendCount");
                state.ReceiveCount = reader.ReadUInt32("session.receiveCount");
                state.PreviousSendCount = reader.ReadUInt32("session.previousSendCount");
                state.PendingPreamble = ReadFlag(ref reader, "session.pendingPreamble.present") ? PrekeyPreamble.Read(ref reader) : null;
                int closed = reader.ReadUInt8("session.closedChainCount");
                if (closed > MaxClosedReceivingChains)
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"session.closedChainCount exceeds its maximum of {MaxClosedReceivingChains}.");
                }

                for (int i = 0; i < closed; i++)
                {
                    state.ClosedReceivingKeys.Add(reader.ReadFixed(X25519PrivateKey.PublicKeySize, "session.closedChain").ToArray());
                }

                uint skipped = reader.ReadUInt32("session.skippedKeyCount");
                if (skipped > RatchetOptions.MaxSkippedMessageKeysLimit)
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "session.skippedKeyCount exceeds its maximum.");
                }

                for (uint i = 0; i < skipped; i++)
                {
                    byte[] ratchetKey = reader.ReadFixed(X25519PrivateKey.PublicKeySize, "session.skippedKey.ratchetKey").ToArray();
                    uint number = reader.ReadUInt32("session.skippedKey.number");
                    byte[] messageKey = reader.ReadFixed(RatchetKdf.KeySize, "session.skippedKey.messageKey").ToArray();
                    long expiresAt = (long)reader.ReadUInt64("session.skippedKey.expiresAt");
                    var key = new SkippedKey(ratchetKey, number, messageKey, expiresAt);
                    if (state.SkippedIndex.ContainsKey(key.Id))
                    {
                        throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "session.skippedKey appears twice.");
                    }

                    state.AddSkipped(key);
                }

                return state;
            }
            catch
            {
                state.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            SendingRatchetKey.Dispose();
            DisposeSecrets();
        }

        /// <summary>
        /// Disposes this state when <paramref name="survivor"/> (its clone or the state it was cloned from) lives on:
        /// the ratchet key goes too only if the survivor holds a different one.
        /// </summary>
        public void DisposeBeside(State survivor)
        {
            if (!ReferenceEquals(SendingRatchetKey, survivor.SendingRatchetKey))
            {
                SendingRatchetKey.Dispose();
            }

            DisposeSecrets();
        }

        private void DisposeSecrets()
        {
            CryptographicOperations.ZeroMemory(RootKey);
            Zero(SendingChainKey);
            Zero(ReceivingChainKey);
            foreach (SkippedKey key in Skipped)
            {
                CryptographicOperations.ZeroMemory(key.MessageKey);
            }

            Skipped.Clear();
            SkippedIndex.Clear();
        }

        public override string ToString() => $"State(sent {SendCount}, received {ReceiveCount}, {Skipped.Count} skipped)";

        /// <summary>Stores the keys of messages <see cref="ReceiveCount"/> to <paramref name="until"/> − 1 on the current receiving chain.</summary>
        private void SkipTo(uint until, RatchetOptions options, DateTimeOffset now)
        {
            if (ReceivingChainKey is null || until <= ReceiveCount)
            {
                return;
            }

            if (until - ReceiveCount > (uint)options.MaxSkip)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.TooManySkippedMessages, $"The message would skip {until - ReceiveCount} message keys; at most {options.MaxSkip} may be skipped.");
            }

            long expiresAt = (now + options.SkippedMessageKeyLifetime).ToUnixTimeMilliseconds();
            while (ReceiveCount < until)
            {
                RatchetKdf.Chain(ReceivingChainKey, out byte[] nextChainKey, out byte[] messageKey);
                CryptographicOperations.ZeroMemory(ReceivingChainKey);
                ReceivingChainKey = nextChainKey;
                AddSkipped(new SkippedKey(RemoteRatchetKey!, ReceiveCount, messageKey, expiresAt));
                ReceiveCount++;
            }

            // The oldest keys go first: they belong to the messages least likely still to arrive.
            while (Skipped.Count > options.MaxSkippedMessageKeys)
            {
                RemoveSkipped(Skipped.First!);
            }
        }

        private void RatchetStep(byte[] remoteRatchetKey)
        {
            byte[] dh = new byte[X25519PrivateKey.SharedSecretSize];
            try
            {
                SendingRatchetKey.DeriveSharedSecret(remoteRatchetKey, dh);
                if (RemoteRatchetKey is not null)
                {
                    ClosedReceivingKeys.Add(RemoteRatchetKey);
                    if (ClosedReceivingKeys.Count > MaxClosedReceivingChains)
                    {
                        ClosedReceivingKeys.RemoveAt(0);
                    }
                }

                PreviousSendCount = SendCount;
                SendCount = 0;
                ReceiveCount = 0;
                RemoteRatchetKey = remoteRatchetKey;
                byte[] oldRoot = RootKey;
                RatchetKdf.Root(oldRoot, dh, out byte[] rootKey, out byte[] receivingChain);
                CryptographicOperations.ZeroMemory(oldRoot);
                Zero(ReceivingChainKey);
                ReceivingChainKey = receivingChain;

                // Not disposed here: this state is a clone, and the old key still belongs to the state it was cloned
                // from, which keeps it if this decryption fails and disposes it when this state replaces it.
                SendingRatchetKey = X25519PrivateKey.Generate();
                SendingRatchetKey.DeriveSharedSecret(remoteRatchetKey, dh);
                RatchetKdf.Root(rootKey, dh, out RootKey, out byte[] sendingChain);
                CryptographicOperations.ZeroMemory(rootKey);
                Zero(SendingChainKey);
                SendingChainKey = sendingChain;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(dh);
            }
        }

        private void AddSkipped(SkippedKey key) => SkippedIndex[key.Id] = Skipped.AddLast(key);

        private void RemoveSkipped(LinkedListNode<SkippedKey> node)
        {
            SkippedIndex.Remove(node.Value.Id);
            Skipped.Remove(node);
            CryptographicOperations.ZeroMemory(node.Value.MessageKey);
        }

        private static void Zero(byte[]? secret)
        {
            if (secret is not null)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }

        private static CryptographicFailureException Duplicate() =>
            new(CryptographicFailureReason.DuplicateMessage, "The message's key was already used or is no longer held: a duplicate or replay.");
    }
}
