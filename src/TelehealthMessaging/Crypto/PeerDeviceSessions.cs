namespace TelehealthMessaging.Crypto;

/// <summary>
/// Every session this device holds with one peer device: the active one, used to send, and a bounded list of earlier
/// ones that can still decrypt. This is what makes simultaneous initiation converge: when both devices start a
/// session at once, each ends up with both sessions, and whichever last decrypted a message becomes the one to send on.
/// </summary>
/// <remarks>
/// A prekey message naming an existing session's base key goes to that session; any other prekey message creates a
/// new session that becomes active once its first message decrypted (and only then are the one-time prekeys it used
/// deleted). A ratchet message is tried on the active session, then on the previous ones newest first; the one that
/// decrypts it becomes active. Every attempt works on a copy, so a refused message changes nothing. Not thread-safe:
/// callers handle one peer device's messages one at a time.
/// </remarks>
internal sealed class PeerDeviceSessions : IDisposable
{
    private const byte FormatVersion = 1;
    private const int MaxSerializedSize = RatchetOptions.MaxPreviousSessionsLimit * RatchetSession.MaxSerializedSize;

    private readonly DeviceIdentity _local;
    private readonly RatchetOptions _options;
    private readonly TimeProvider _timeProvider;

    // Index 0 is the active session; the rest are previous sessions, most recently active first.
    private readonly List<RatchetSession> _sessions = [];

    public PeerDeviceSessions(DeviceIdentity local, IdentityKey remoteIdentity, RatchetOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remoteIdentity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _local = local;
        RemoteIdentity = remoteIdentity;
        _options = options.Snapshot();
        _timeProvider = timeProvider;
    }

    /// <summary>The peer device's identity; sessions with any other identity are refused.</summary>
    public IdentityKey RemoteIdentity { get; }

    /// <summary>Whether a session exists to send on.</summary>
    public bool HasActiveSession => _sessions.Count > 0;

    /// <summary>The number of sessions held, active included.</summary>
    public int SessionCount => _sessions.Count;

    internal RatchetSession? ActiveSession => _sessions.Count > 0 ? _sessions[0] : null;

    /// <summary>
    /// Starts a new active session from the peer's <paramref name="bundle"/> after verifying it. A bundle for another
    /// identity is refused with <see cref="CryptographicFailureReason.IdentityMismatch"/>.
    /// </summary>
    public void Initiate(PrekeyBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (!bundle.Identity.Equals(RemoteIdentity))
        {
            throw IdentityMismatch("The prekey bundle");
        }

        Activate(RatchetSession.Initiate(_local, bundle, _options, _timeProvider), 0, isNew: true);
    }

    /// <summary>Encrypts on the active session.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        if (_sessions.Count == 0)
        {
            throw new InvalidOperationException("There is no session with this device yet: initiate one from its prekey bundle.");
        }

        return _sessions[0].Encrypt(plaintext);
    }

    /// <summary>
    /// Decrypts a ratchet or prekey message from the peer device. <paramref name="prekeys"/> are this device's own
    /// prekeys, needed when the message starts a new session. Throws <see cref="CryptographicFailureException"/> and
    /// changes nothing when the message is refused.
    /// </summary>
    public byte[] Decrypt(ReadOnlySpan<byte> encoded, DevicePrekeys prekeys)
    {
        ArgumentNullException.ThrowIfNull(prekeys);
        SessionMessage message = SessionMessage.Parse(encoded);
        if (message.Preamble is PrekeyPreamble preamble)
        {
            if (!preamble.InitiatorIdentity.Equals(RemoteIdentity))
            {
                throw IdentityMismatch("The prekey message");
            }

            int existing = _sessions.FindIndex(s => s.BaseKey.SequenceEqual(preamble.EphemeralKey));
            if (existing >= 0)
            {
                byte[] plaintext = _sessions[existing].Decrypt(message);
                Activate(_sessions[existing], existing, isNew: false);
                return plaintext;
            }

            RatchetSession created = RatchetSession.Respond(_local, prekeys, preamble, _options, _timeProvider);
            try
            {
                byte[] plaintext = created.Decrypt(message);
                prekeys.ConsumeOneTimePrekeys(preamble.OneTimePrekeyId, preamble.KemPrekeyId);
                Activate(created, 0, isNew: true);
                return plaintext;
            }
            catch
            {
                created.Dispose();
                throw;
            }
        }

        CryptographicFailureException? mostTelling = null;
        for (int i = 0; i < _sessions.Count; i++)
        {
            try
            {
                byte[] plaintext = _sessions[i].Decrypt(message);
                Activate(_sessions[i], i, isNew: false);
                return plaintext;
            }
            catch (CryptographicFailureException ex)
            {
                // A replay or an over-long skip is recognised only by the session the message belongs to; every other
                // session sees an authentication failure. Report what the owning session said.
                if (mostTelling is null || mostTelling.Reason == CryptographicFailureReason.AuthenticationFailed)
                {
                    mostTelling = ex;
                }
            }
        }

        throw mostTelling ?? CryptographicFailureException.AuthenticationFailed("A ratchet message for a device with no session");
    }

    /// <summary>version ‖ remote identity ‖ u8 session count ‖ each session as a length-prefixed <see cref="RatchetSession.Serialize"/>.</summary>
    public byte[] Serialize()
    {
        var writer = new WireWriter();
        writer.WriteUInt8(FormatVersion);
        RemoteIdentity.Write(writer);
        writer.WriteUInt8((byte)_sessions.Count);
        foreach (RatchetSession session in _sessions)
        {
            writer.WriteBytes(session.Serialize(), RatchetSession.MaxSerializedSize);
        }

        return writer.ToArray();
    }

    /// <summary>Restores what <see cref="Serialize"/> wrote, strictly; sessions whose identities do not match are refused.</summary>
    public static PeerDeviceSessions Deserialize(ReadOnlySpan<byte> serialized, DeviceIdentity local, RatchetOptions options, TimeProvider timeProvider)
    {
        if (serialized.Length > MaxSerializedSize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The serialized sessions exceed their maximum size.");
        }

        var reader = new WireReader(serialized);
        byte version = reader.ReadUInt8("sessions.version");
        if (version != FormatVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Session set version {version} is not supported.");
        }

        var sessions = new PeerDeviceSessions(local, IdentityKey.Read(ref reader, "sessions.remoteIdentity"), options, timeProvider);
        try
        {
            int count = reader.ReadUInt8("sessions.count");
            if (count > 1 + RatchetOptions.MaxPreviousSessionsLimit)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, $"sessions.count exceeds its maximum of {1 + RatchetOptions.MaxPreviousSessionsLimit}.");
            }

            for (int i = 0; i < count; i++)
            {
                RatchetSession session = RatchetSession.Deserialize(reader.ReadBytes(RatchetSession.MaxSerializedSize, "sessions.session"), sessions._options, timeProvider);
                sessions._sessions.Add(session);
                if (!session.LocalIdentity.Equals(local.PublicKey) || !session.RemoteIdentity.Equals(sessions.RemoteIdentity))
                {
                    throw IdentityMismatch("A stored session");
                }
            }

            reader.EnsureEnd();

            // MaxPreviousSessions may have been lowered since the set was stored: keep the most recent ones.
            sessions.TrimToLimit();
            return sessions;
        }
        catch
        {
            sessions.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (RatchetSession session in _sessions)
        {
            session.Dispose();
        }

        _sessions.Clear();
    }

    public override string ToString() => $"PeerDeviceSessions(peer {RemoteIdentity}, {_sessions.Count} sessions)";

    private void Activate(RatchetSession session, int index, bool isNew)
    {
        if (!isNew)
        {
            _sessions.RemoveAt(index);
        }

        _sessions.Insert(0, session);
        TrimToLimit();
    }

    private void TrimToLimit()
    {
        while (_sessions.Count > 1 + _options.MaxPreviousSessions)
        {
            _sessions[^1].Dispose();
            _sessions.RemoveAt(_sessions.Count - 1);
        }
    }

    private static CryptographicFailureException IdentityMismatch(string what) =>
        new(CryptographicFailureReason.IdentityMismatch, $"{what} comes from a different identity than this peer device's.");
}
