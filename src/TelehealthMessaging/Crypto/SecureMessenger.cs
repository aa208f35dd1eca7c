using System.Security.Cryptography;
using TelehealthMessaging.Storage;
using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Crypto;

/// <summary>
/// One device's end-to-end encryption: seals messages into one <see cref="SealedEnvelope"/> per recipient device
/// (plus sync copies to the user's own other devices) and opens envelopes addressed to this device.
/// </summary>
/// <remarks>
/// <para>
/// Session state is loaded from the <see cref="ISessionStore"/> for every operation and stored back before an
/// envelope is returned or a plaintext is released, so a restart at any point loses nothing and a message key is
/// never used twice. A refused envelope changes nothing: the state it was tried on is discarded, and one-time prekeys
/// are deleted from the key store only after the message they set up decrypted and its session was stored.
/// </para>
/// <para>
/// Thread-safe: every operation takes one lock, so operations of one messenger run one at a time. Open one messenger
/// per device and store; two messengers over one store would overwrite each other's sessions.
/// </para>
/// <para>
/// Key store records: <see cref="KeyRecordName.Identity"/> holds <see cref="DeviceIdentity.Export"/>;
/// <see cref="KeySetRecord"/> holds the prekeys and envelope keys together, so one atomic write updates both.
/// </para>
/// </remarks>
internal sealed class SecureMessenger : IDisposable
{
    /// <summary>
    /// The record holding this device's prekeys and envelope keys. Prekey ids start at 1, so id 0 of the signed-prekey
    /// kind never names a single prekey; a dedicated <see cref="KeyRecordKind"/> would be clearer (requested).
    /// </summary>
    public static readonly KeyRecordName KeySetRecord = KeyRecordName.DeviceKeySet;

    private const byte KeySetVersion = 1;
    private const byte PeerRecordVersion = 1;

    /// <summary>Bound on <see cref="_verifiedCertificates"/>: one entry per sender device recently heard from.</summary>
    private const int MaxRememberedCertificates = 256;

    private readonly UserId _user;
    private readonly DeviceId _device;
    private readonly DeviceIdentity _identity;
    private readonly SenderCertificate _certificate;
    private readonly DeviceEnvelopeKeys _envelopeKeys;
    private readonly IKeyStore _keyStore;
    private readonly ISessionStore _sessionStore;
    private readonly SecureMessengerOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _gate = new(1, 1);

    // The last certificate that verified, per sender device: a sender puts the same certificate in every envelope, and
    // verifying it costs two Ed25519 verifications. Only a byte-identical certificate skips them (see VerifyCertificate).
    private readonly Dictionary<DeviceId, SenderCertificate> _verifiedCertificates = [];
    private DevicePrekeys _prekeys;
    private bool _keySetPending;
    private bool _disposed;

    private SecureMessenger(UserId user, DeviceId device, DeviceIdentity identity, DevicePrekeys prekeys, DeviceEnvelopeKeys envelopeKeys, IKeyStore keyStore, ISessionStore sessionStore, SecureMessengerOptions options, TimeProvider timeProvider)
    {
        _user = user;
        _device = device;
        _identity = identity;
        _prekeys = prekeys;
        _envelopeKeys = envelopeKeys;
        _keyStore = keyStore;
        _sessionStore = sessionStore;
        _options = options;
        _timeProvider = timeProvider;
        _certificate = SenderCertificate.Create(user, device, identity);
    }

    public UserId User => _user;

    public DeviceId Device => _device;

    /// <summary>This device's public identity, for the directory.</summary>
    public IdentityKey Identity => _identity.PublicKey;

    /// <summary>The envelope key to publish with the device registration and beside every prekey bundle.</summary>
    public SignedEnvelopeKey CurrentEnvelopeKey => _envelopeKeys.Current;

    /// <summary>
    /// Opens the device's keys from <paramref name="keyStore"/>, generating and storing an identity, prekeys and an
    /// envelope key the first time.
    /// </summary>
    public static async Task<SecureMessenger> LoadOrCreateAsync(UserId user, DeviceId device, IKeyStore keyStore, ISessionStore sessionStore, SecureMessengerOptions options, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        if (user.Value is null || device.Value is null)
        {
            throw new ArgumentException("The user and device ids must be set.", user.Value is null ? nameof(user) : nameof(device));
        }

        ArgumentNullException.ThrowIfNull(keyStore);
        ArgumentNullException.ThrowIfNull(sessionStore);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        SecureMessengerOptions snapshot = options.Snapshot();

        DeviceIdentity identity;
        byte[]? storedIdentity = await keyStore.GetAsync(KeyRecordName.Identity, cancellationToken).ConfigureAwait(false);
        byte[]? storedKeySet = await keyStore.GetAsync(KeySetRecord, cancellationToken).ConfigureAwait(false);
        try
        {
            if (storedIdentity is null)
            {
                if (storedKeySet is not null)
                {
                    throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "The key store holds prekeys but no identity.");
                }

                identity = DeviceIdentity.Generate();
                byte[] exported = identity.Export();
                try
                {
                    await keyStore.SetAsync(KeyRecordName.Identity, exported, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    identity.Dispose();
                    throw;
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(exported);
                }
            }
            else
            {
                identity = DeviceIdentity.Import(storedIdentity);
            }
        }
        finally
        {
            if (storedIdentity is not null)
            {
                CryptographicOperations.ZeroMemory(storedIdentity);
            }
        }

        DevicePrekeys? prekeys = null;
        DeviceEnvelopeKeys? envelopeKeys = null;
        try
        {
            if (storedKeySet is null)
            {
                // Also reached after a crash between storing the identity and the key set: nothing was published yet.
                prekeys = DevicePrekeys.Create(identity, snapshot.Prekeys, timeProvider);
                envelopeKeys = DeviceEnvelopeKeys.Create(identity, device, snapshot.EnvelopeKeyRotationInterval, snapshot.EnvelopeKeyGracePeriod, timeProvider);
                await StoreKeySetAsync(keyStore, prekeys, envelopeKeys, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                (prekeys, envelopeKeys) = ReadKeySet(storedKeySet, identity, device, snapshot, timeProvider);
            }

            return new SecureMessenger(user, device, identity, prekeys, envelopeKeys, keyStore, sessionStore, snapshot, timeProvider);
        }
        catch
        {
            prekeys?.Dispose();
            envelopeKeys?.Dispose();
            identity.Dispose();
            throw;
        }
        finally
        {
            if (storedKeySet is not null)
            {
                CryptographicOperations.ZeroMemory(storedKeySet);
            }
        }
    }

    /// <summary>
    /// A prekey bundle of this device as the relay would hand it out: with the given one-time prekeys, or the lowest
    /// ids held. The relay gets the public prekeys; this exists for tests and for a relay-less setup.
    /// </summary>
    public PrekeyBundle CreateBundle(uint? oneTimePrekeyId = null, uint? kemPrekeyId = null)
    {
        ThrowIfDisposed();
        _gate.Wait();
        try
        {
            return _prekeys.CreateBundle(oneTimePrekeyId, kemPrekeyId);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The one-time prekeys (X25519 then ML-KEM) to upload to the relay.</summary>
    public IReadOnlyList<PublicPrekey> OneTimePrekeys()
    {
        ThrowIfDisposed();
        _gate.Wait();
        try
        {
            return _prekeys.OneTimePrekeys.ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Applies the rotation policies of the prekeys and the envelope key at the current time and stores the result.
    /// Returns <see langword="true"/> when something changed that must be published again.
    /// </summary>
    public async Task<bool> RefreshKeysAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool changed = _prekeys.Refresh();
            changed |= _envelopeKeys.Refresh();
            if (changed)
            {
                _keySetPending = true;
            }

            await FlushKeySetAsync(cancellationToken).ConfigureAwait(false);

            return changed;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> once per device: every device in <paramref name="recipients"/>, and every
    /// device in <paramref name="ownOtherDevices"/> (this user's other devices, so they stay in sync; this device is
    /// skipped if listed). Returns one envelope per device, in that order.
    /// </summary>
    /// <remarks>
    /// Everything is checked before any session changes: each envelope key's signature, each bundle (verified, and of
    /// the recipient's identity), and that a stored session belongs to the listed user and identity
    /// (<see cref="CryptographicFailureReason.IdentityMismatch"/> otherwise). Each session is stored before the envelopes
    /// are returned. If storing fails midway the error propagates and the earlier devices' messages count as dropped,
    /// which their ratchets tolerate.
    /// </remarks>
    public async Task<IReadOnlyList<OutgoingEnvelope>> SealAsync(IReadOnlyList<EnvelopeRecipient> recipients, ReadOnlyMemory<byte> plaintext, IReadOnlyList<EnvelopeRecipient>? ownOtherDevices = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        if (plaintext.Length > SessionMessage.MaxPlaintextSize)
        {
            throw new ArgumentException($"A message may carry at most {SessionMessage.MaxPlaintextSize} bytes; send larger content as an attachment.", nameof(plaintext));
        }

        List<EnvelopeRecipient> targets = Targets(recipients, ownOtherDevices);
        ThrowIfDisposed();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var loaded = new List<PeerDeviceSessions>(targets.Count);
        try
        {
            await FlushKeySetAsync(cancellationToken).ConfigureAwait(false);
            foreach (EnvelopeRecipient target in targets)
            {
                target.EnvelopeKey.Verify(target.Identity, target.Device);
                PeerDeviceSessions sessions = await LoadForSendingAsync(target, cancellationToken).ConfigureAwait(false);
                loaded.Add(sessions);
            }

            var envelopes = new List<OutgoingEnvelope>(targets.Count);
            for (int i = 0; i < targets.Count; i++)
            {
                EnvelopeRecipient target = targets[i];
                PeerDeviceSessions sessions = loaded[i];
                if (!sessions.HasActiveSession)
                {
                    sessions.Initiate(target.Bundle!);
                }

                byte[] message = sessions.Encrypt(plaintext.Span);
                byte[] padded = EnvelopeContent.EncodePadded(_certificate, message);
                try
                {
                    byte[] envelope = SealedEnvelope.Seal(target.Device, target.EnvelopeKey.PublicKey, padded);
                    await StorePeerAsync(target.Device, target.User, sessions, cancellationToken).ConfigureAwait(false);
                    envelopes.Add(new OutgoingEnvelope(target.User, target.Device, envelope));
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(padded);
                }
            }

            return envelopes;
        }
        finally
        {
            foreach (PeerDeviceSessions sessions in loaded)
            {
                sessions.Dispose();
            }

            _gate.Release();
        }
    }

    /// <summary>
    /// Opens an envelope addressed to this device and decrypts the message inside. Throws
    /// <see cref="CryptographicFailureException"/> and changes nothing when any check fails: the header (malformed,
    /// <see cref="CryptographicFailureReason.WrongRecipient"/>), the HPKE layer, the padding, the sender certificate's
    /// signature, a certificate whose user or identity differs from the sender device's stored session
    /// (<see cref="CryptographicFailureReason.IdentityMismatch"/>), or the inner message.
    /// </summary>
    public async Task<OpenedEnvelope> OpenAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushKeySetAsync(cancellationToken).ConfigureAwait(false);
            SealedEnvelope sealedEnvelope = SealedEnvelope.Parse(envelope.Span);
            if (sealedEnvelope.Recipient != _device)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.WrongRecipient, "The sealed envelope is addressed to another device.");
            }

            byte[] padded = sealedEnvelope.Open(_envelopeKeys.Candidates);
            try
            {
                EnvelopeContent content = EnvelopeContent.Parse(padded);
                SenderCertificate certificate = content.Certificate;
                VerifyCertificate(certificate);
                if (certificate.Device == _device)
                {
                    throw IdentityMismatch("The sender certificate names this device");
                }

                return await DecryptAsync(certificate, content.Message, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(padded);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Signs a relay request's canonical bytes with this device's identity key.</summary>
    public byte[] SignRequest(ReadOnlyMemory<byte> canonicalRequest)
    {
        ThrowIfDisposed();
        return _identity.Sign(canonicalRequest.Span);
    }

    /// <summary>The key publication for the relay: current envelope key, signed and last-resort prekeys, and the one-time prekeys with ids above <paramref name="afterOneTimeId"/>.</summary>
    public DeviceKeyPublication KeyPublication(uint afterOneTimeId)
    {
        ThrowIfDisposed();
        _gate.Wait();
        try
        {
            return new DeviceKeyPublication(
                _envelopeKeys.Current,
                _prekeys.CurrentSignedPrekey,
                _prekeys.CurrentLastResortPrekey,
                _prekeys.OneTimePrekeys.Where(p => p.Id > afterOneTimeId).ToList());
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether an active session with <paramref name="peer"/> is stored, so sealing to it needs no prekey bundle.</summary>
    public async Task<bool> HasActiveSessionAsync(DeviceId peer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            (_, PeerDeviceSessions? stored) = await LoadPeerAsync(peer, cancellationToken).ConfigureAwait(false);
            using (stored)
            {
                return stored?.HasActiveSession == true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _prekeys.Dispose();
        _envelopeKeys.Dispose();
        _identity.Dispose();
        _gate.Dispose();
    }

    public override string ToString() => $"SecureMessenger({_user}, {_device})";

    /// <summary>
    /// <see cref="SenderCertificate.Verify"/>, skipped when the sender device's last verified certificate has the same
    /// encoding: verification is a function of those bytes alone, so the outcome is the same. Runs under the gate.
    /// </summary>
    private void VerifyCertificate(SenderCertificate certificate)
    {
        if (_verifiedCertificates.TryGetValue(certificate.Device, out SenderCertificate? verified) && verified.HasSameEncoding(certificate))
        {
            return;
        }

        certificate.Verify();
        if (_verifiedCertificates.Count >= MaxRememberedCertificates && !_verifiedCertificates.ContainsKey(certificate.Device))
        {
            _verifiedCertificates.Clear();
        }

        _verifiedCertificates[certificate.Device] = certificate;
    }

    /// <summary>For tests: the envelope keys this device holds.</summary>
    internal DeviceEnvelopeKeys EnvelopeKeys => _envelopeKeys;

    /// <summary>For tests: the certificate this device puts in its envelopes.</summary>
    internal SenderCertificate Certificate => _certificate;

    private async Task<OpenedEnvelope> DecryptAsync(SenderCertificate certificate, byte[] message, CancellationToken cancellationToken)
    {
        (UserId? pinnedUser, PeerDeviceSessions? stored) = await LoadPeerAsync(certificate.Device, cancellationToken).ConfigureAwait(false);
        using PeerDeviceSessions sessions = stored ?? new PeerDeviceSessions(_identity, certificate.Identity, _options.Ratchet, _timeProvider);
        if (pinnedUser is UserId user && (user != certificate.User || !sessions.RemoteIdentity.Equals(certificate.Identity)))
        {
            throw IdentityMismatch("The sender certificate does not match the session with its device");
        }

        // A prekey message may consume one-time prekeys: work on a copy, kept only once everything succeeded.
        bool isPrekeyMessage = SessionMessage.Parse(message).Preamble is not null;
        DevicePrekeys? working = isPrekeyMessage ? CopyPrekeys() : null;
        try
        {
            // The session checks that the prekey preamble's identity is the certificate's (IdentityMismatch), and a
            // ratchet message authenticates only under a session with that identity.
            byte[] plaintext = sessions.Decrypt(message, working ?? _prekeys);
            await StorePeerAsync(certificate.Device, certificate.User, sessions, cancellationToken).ConfigureAwait(false);
            if (working is not null && (working.OneTimePrekeyCount != _prekeys.OneTimePrekeyCount || working.KemOneTimePrekeyCount != _prekeys.KemOneTimePrekeyCount))
            {
                (_prekeys, working) = (working, _prekeys);
                _keySetPending = true;
                try
                {
                    await FlushKeySetAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
                {
                    // The session is stored, so throwing now would lose the message: the plaintext is returned and the
                    // deletion of the used one-time prekeys is retried at the start of the next operation.
                }
            }

            return new OpenedEnvelope(certificate.User, certificate.Device, certificate.Identity, plaintext, certificate.User == _user, isFirstContact: stored is null);
        }
        finally
        {
            working?.Dispose();
        }
    }

    /// <summary>Stores the key set if an earlier store of it failed after its session was already stored.</summary>
    private async Task FlushKeySetAsync(CancellationToken cancellationToken)
    {
        if (_keySetPending)
        {
            await StoreKeySetAsync(_keyStore, _prekeys, _envelopeKeys, cancellationToken).ConfigureAwait(false);
            _keySetPending = false;
        }
    }

    private DevicePrekeys CopyPrekeys()
    {
        byte[] exported = _prekeys.Export();
        try
        {
            return DevicePrekeys.Import(exported, _identity, _options.Prekeys, _timeProvider);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    private List<EnvelopeRecipient> Targets(IReadOnlyList<EnvelopeRecipient> recipients, IReadOnlyList<EnvelopeRecipient>? ownOtherDevices)
    {
        var targets = new List<EnvelopeRecipient>(recipients.Count + (ownOtherDevices?.Count ?? 0));
        foreach (EnvelopeRecipient recipient in recipients)
        {
            ArgumentNullException.ThrowIfNull(recipient, nameof(recipients));
            if (recipient.Device == _device)
            {
                throw new ArgumentException("A message cannot be sealed to the sending device itself.", nameof(recipients));
            }

            targets.Add(recipient);
        }

        foreach (EnvelopeRecipient own in ownOtherDevices ?? [])
        {
            ArgumentNullException.ThrowIfNull(own, nameof(ownOtherDevices));
            if (own.User != _user)
            {
                throw new ArgumentException("Every own device must belong to this device's user.", nameof(ownOtherDevices));
            }

            if (own.Device != _device)
            {
                targets.Add(own);
            }
        }

        if (targets.Count == 0)
        {
            throw new ArgumentException("There is no device to seal the message to.", nameof(recipients));
        }

        if (targets.Select(t => t.Device).Distinct().Count() != targets.Count)
        {
            throw new ArgumentException("A device is listed more than once.", nameof(recipients));
        }

        return targets;
    }

    private async Task<PeerDeviceSessions> LoadForSendingAsync(EnvelopeRecipient target, CancellationToken cancellationToken)
    {
        (UserId? pinnedUser, PeerDeviceSessions? stored) = await LoadPeerAsync(target.Device, cancellationToken).ConfigureAwait(false);
        PeerDeviceSessions sessions = stored ?? new PeerDeviceSessions(_identity, target.Identity, _options.Ratchet, _timeProvider);
        try
        {
            if (pinnedUser is UserId user && (user != target.User || !sessions.RemoteIdentity.Equals(target.Identity)))
            {
                throw IdentityMismatch("The stored session with this device belongs to another user or identity than the recipient listed");
            }

            if (!sessions.HasActiveSession)
            {
                if (target.Bundle is null)
                {
                    throw new ArgumentException("A recipient device has no session yet: pass its prekey bundle.", nameof(target));
                }

                target.Bundle.Verify();
                if (!target.Bundle.Identity.Equals(target.Identity))
                {
                    throw IdentityMismatch("The prekey bundle");
                }
            }

            return sessions;
        }
        catch
        {
            sessions.Dispose();
            throw;
        }
    }

    /// <summary>Peer record: version ‖ u8 len ‖ user id (pinned on first contact) ‖ u32 len ‖ <see cref="PeerDeviceSessions.Serialize"/>.</summary>
    private async Task<(UserId? User, PeerDeviceSessions? Sessions)> LoadPeerAsync(DeviceId peer, CancellationToken cancellationToken)
    {
        byte[]? stored = await _sessionStore.LoadAsync(peer, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return (null, null);
        }

        try
        {
            var reader = new WireReader(stored);
            byte version = reader.ReadUInt8("peer.version");
            if (version != PeerRecordVersion)
            {
                throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Peer record version {version} is not supported.");
            }

            var user = new UserId(WireIdentifier.Read(ref reader, "peer.userId"));
            ReadOnlySpan<byte> sessions = reader.ReadBytes(StoreLimits.MaxValueLength, "peer.sessions");
            reader.EnsureEnd();
            return (user, PeerDeviceSessions.Deserialize(sessions, _identity, _options.Ratchet, _timeProvider));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stored);
        }
    }

    private async Task StorePeerAsync(DeviceId peer, UserId user, PeerDeviceSessions sessions, CancellationToken cancellationToken)
    {
        byte[] serialized = sessions.Serialize();
        var writer = new WireWriter(serialized.Length + 80);
        writer.WriteUInt8(PeerRecordVersion);
        WireIdentifier.Write(writer, user);
        writer.WriteBytes(serialized, StoreLimits.MaxValueLength);
        byte[] record = writer.ToArray();
        try
        {
            await _sessionStore.StoreAsync(peer, record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(serialized);
            CryptographicOperations.ZeroMemory(record);
        }
    }

    /// <summary>Key set: version ‖ u32 len ‖ <see cref="DevicePrekeys.Export"/> ‖ u32 len ‖ <see cref="DeviceEnvelopeKeys.Export"/>.</summary>
    private static async Task StoreKeySetAsync(IKeyStore keyStore, DevicePrekeys prekeys, DeviceEnvelopeKeys envelopeKeys, CancellationToken cancellationToken)
    {
        byte[] prekeyBytes = prekeys.Export();
        byte[] envelopeKeyBytes = envelopeKeys.Export();
        var writer = new WireWriter(prekeyBytes.Length + envelopeKeyBytes.Length + 16);
        writer.WriteUInt8(KeySetVersion).WriteBytes(prekeyBytes, StoreLimits.MaxValueLength).WriteBytes(envelopeKeyBytes, StoreLimits.MaxValueLength);
        byte[] record = writer.ToArray();
        try
        {
            await keyStore.SetAsync(KeySetRecord, record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prekeyBytes);
            CryptographicOperations.ZeroMemory(envelopeKeyBytes);
            CryptographicOperations.ZeroMemory(record);
        }
    }

    private static (DevicePrekeys Prekeys, DeviceEnvelopeKeys EnvelopeKeys) ReadKeySet(byte[] stored, DeviceIdentity identity, DeviceId device, SecureMessengerOptions options, TimeProvider timeProvider)
    {
        var reader = new WireReader(stored);
        byte version = reader.ReadUInt8("keySet.version");
        if (version != KeySetVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Key set version {version} is not supported.");
        }

        ReadOnlySpan<byte> prekeyBytes = reader.ReadBytes(StoreLimits.MaxValueLength, "keySet.prekeys");
        ReadOnlySpan<byte> envelopeKeyBytes = reader.ReadBytes(StoreLimits.MaxValueLength, "keySet.envelopeKeys");
        reader.EnsureEnd();
        DevicePrekeys prekeys = DevicePrekeys.Import(prekeyBytes, identity, options.Prekeys, timeProvider);
        try
        {
            return (prekeys, DeviceEnvelopeKeys.Import(envelopeKeyBytes, identity, device, options.EnvelopeKeyRotationInterval, options.EnvelopeKeyGracePeriod, timeProvider));
        }
        catch
        {
            prekeys.Dispose();
            throw;
        }
    }

    private static CryptographicFailureException IdentityMismatch(string what) =>
        new(CryptographicFailureReason.IdentityMismatch, $"{what}: identity mismatch.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
