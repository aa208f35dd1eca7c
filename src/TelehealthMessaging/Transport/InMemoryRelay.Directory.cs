using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Transport;

// The relay directory in memory: the real relay's rules (docs/relay.md), without request signatures. Every method
// runs under _gate, checks everything before changing anything, and throws the problem codes the relay answers with.
public sealed partial class InMemoryRelay
{
    /// <summary>Most one-time prekeys of each kind in one publication, as the relay's default.</summary>
    internal const int MaxPrekeysPerUpload = 200;

    private readonly Dictionary<DeviceId, DirectoryEntry> _directory = [];

    // Revoked ids stay refused: a thief holding a lost phone's key must not be able to register it again.
    private readonly HashSet<DeviceId> _revoked = [];
    private readonly Dictionary<ClinicId, HashSet<DeviceId>> _clinics = [];
    private readonly Dictionary<(ClinicId Clinic, string Item), StoredClaim> _claims = [];
    private readonly Dictionary<string, StoredBlob> _blobs = new(StringComparer.Ordinal);
    private long _maxBlobBytes = 100L * 1024 * 1024;

    /// <summary>
    /// Largest attachment blob in bytes; larger uploads are refused with <c>too_large</c>. Default 100 MiB, as the
    /// relay's; at most <see cref="Array.MaxLength"/>, since blobs are held in memory.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1 or more than <see cref="Array.MaxLength"/>.</exception>
    public long MaxBlobBytes
    {
        get => Interlocked.Read(ref _maxBlobBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            Interlocked.Exchange(ref _maxBlobBytes, value);
        }
    }

    /// <summary>Creates the directory through which <paramref name="device"/> of <paramref name="user"/> reaches this relay.</summary>
    internal IRelayDirectory ConnectDirectory(UserId user, DeviceId device)
    {
        if (user.Value is null || device.Value is null)
        {
            throw new ArgumentException("The user and device ids must be set.", user.Value is null ? nameof(user) : nameof(device));
        }

        return new InMemoryRelayDirectory(this, user, device);
    }

    internal void RegisterDirectoryDevice(UserId user, DeviceId device, IdentityKey identity)
    {
        try
        {
            identity.Verify();
        }
        catch (CryptographicFailureException)
        {
            throw DirectoryRefused(400, "invalid_key_binding", "The identity's binding signature does not verify.");
        }

        lock (_gate)
        {
            if (_revoked.Contains(device))
            {
                throw DirectoryRefused(409, "device_revoked", "The device id was revoked and cannot be registered again.");
            }

            if (_directory.TryGetValue(device, out DirectoryEntry? existing))
            {
                if (existing.User != user || !existing.Identity.Equals(identity))
                {
                    throw DirectoryRefused(409, "device_conflict", "The device id is registered with other keys or to another user.");
                }

                return;
            }

            _directory.Add(device, new DirectoryEntry(user, identity));
            _mailboxes.TryAdd(device, new Mailbox());
        }
    }

    internal void PublishKeys(DeviceId device, DeviceKeyPublication publication)
    {
        if (publication.OneTimePrekeys.Count(p => p.Kind == PrekeyKind.OneTimeX25519) > MaxPrekeysPerUpload
            || publication.OneTimePrekeys.Count(p => p.Kind != PrekeyKind.OneTimeX25519) > MaxPrekeysPerUpload)
        {
            throw DirectoryRefused(413, "too_large", "The publication holds too many one-time prekeys.");
        }

        if (publication.OneTimePrekeys.GroupBy(p => (p.Kind, p.Id)).Any(g => g.Count() > 1))
        {
            throw DirectoryRefused(400, "invalid_field", "One-time prekey ids must be distinct per kind.");
        }

        lock (_gate)
        {
            DirectoryEntry entry = Caller(device);
            try
            {
                DirectoryKeys.VerifyPublication(entry.Identity, device, publication.EnvelopeKey, null, null, []);
            }
            catch (CryptographicFailureException)
            {
                throw DirectoryRefused(400, "invalid_envelope_key", "The envelope key is not signed by this device's identity for this device.");
            }

            try
            {
                DirectoryKeys.VerifyPublication(entry.Identity, device, null, publication.SignedPrekey, publication.LastResortKemPrekey, publication.OneTimePrekeys);
            }
            catch (CryptographicFailureException)
            {
                throw DirectoryRefused(400, "invalid_prekey", "A prekey is in the wrong role or not signed by this device's identity.");
            }

            entry.EnvelopeKey = publication.EnvelopeKey;
            entry.SignedPrekey = publication.SignedPrekey;
            entry.LastResortKemPrekey = publication.LastResortKemPrekey;
            foreach (PublicPrekey prekey in publication.OneTimePrekeys)
            {
                (prekey.Kind == PrekeyKind.OneTimeX25519 ? entry.OneTime : entry.OneTimeKem)[prekey.Id] = prekey;
            }
        }
    }

    internal List<DirectoryDevice> ListDirectoryDevices(DeviceId caller, UserId user)
    {
        lock (_gate)
        {
            Caller(caller);
            return _directory
                .Where(d => d.Value.User == user && d.Value.EnvelopeKey is not null)
                .OrderBy(d => d.Key.Value, StringComparer.Ordinal)
                .Select(d => d.Value.Describe(d.Key))
                .ToList();
        }
    }

    internal DirectoryBundle ClaimDirectoryBundle(DeviceId caller, UserId user, DeviceId device)
    {
        lock (_gate)
        {
            Caller(caller);
            if (!_directory.TryGetValue(device, out DirectoryEntry? entry) || entry.User != user
                || entry.EnvelopeKey is null || entry.SignedPrekey is null || entry.LastResortKemPrekey is null)
            {
                throw DirectoryRefused(404, "bundle_not_found", "The user has no such device, or it has not published its keys.");
            }

            PublicPrekey? oneTime = TakeLowest(entry.OneTime);
            PublicPrekey kem = TakeLowest(entry.OneTimeKem) ?? entry.LastResortKemPrekey;
            return new DirectoryBundle(entry.Describe(device), new PrekeyBundle(entry.Identity, entry.SignedPrekey, oneTime, kem));
        }
    }

    internal void RevokeDirectoryDevice(DeviceId caller, DeviceId device)
    {
        lock (_gate)
        {
            DirectoryEntry own = Caller(caller);
            if (!_directory.TryGetValue(device, out DirectoryEntry? target))
            {
                throw DirectoryRefused(404, "device_not_found", "No such device.");
            }

            if (target.User != own.User)
            {
                throw DirectoryRefused(403, "not_own_device", "A device can revoke only devices of its own user.");
            }

            _directory.Remove(device);
            _revoked.Add(device);
            _mailboxes.Remove(device);
            foreach (HashSet<DeviceId> members in _clinics.Values)
            {
                members.Remove(device);
            }
        }
    }

    internal void JoinClinic(DeviceId device, ClinicId clinic)
    {
        lock (_gate)
        {
            Caller(device);
            if (!_clinics.TryGetValue(clinic, out HashSet<DeviceId>? members))
            {
                _clinics[clinic] = members = [];
            }

            members.Add(device);
        }
    }

    internal void LeaveClinic(DeviceId device, ClinicId clinic)
    {
        lock (_gate)
        {
            Caller(device);
            if (_clinics.TryGetValue(clinic, out HashSet<DeviceId>? members))
            {
                members.Remove(device);
            }
        }
    }

    internal List<DirectoryDevice> ListClinicDevices(DeviceId caller, ClinicId clinic)
    {
        lock (_gate)
        {
            Caller(caller);
            if (!_clinics.TryGetValue(clinic, out HashSet<DeviceId>? members))
            {
                return [];
            }

            return members
                .Where(m => _directory[m].EnvelopeKey is not null)
                .OrderBy(m => m.Value, StringComparer.Ordinal)
                .Select(m => _directory[m].Describe(m))
                .ToList();
        }
    }

    internal WorkItemClaim ClaimWorkItem(DeviceId device, ClinicId clinic, string itemId)
    {
        DateTimeOffset now = TimeProvider.GetUtcNow();
        lock (_gate)
        {
            DirectoryEntry entry = Caller(device);
            if (!_clinics.TryGetValue(clinic, out HashSet<DeviceId>? members) || !members.Contains(device))
            {
                throw DirectoryRefused(403, "not_clinic_member", "Only the clinic's devices can claim its work items.");
            }

            if (!_claims.TryGetValue((clinic, itemId), out StoredClaim? claim) || claim.Expires <= now)
            {
                claim = new StoredClaim(entry.User, device, now, now + EnvelopeTimeToLive);
                _claims[(clinic, itemId)] = claim;
            }

            return new WorkItemClaim(itemId, claim.User, claim.Device, claim.ClaimedAt, claim.Device == device);
        }
    }

    /// <summary>Refuses early, before the caller streams the blob, when the id is taken or the device unknown.</summary>
    internal void CheckBlobUpload(DeviceId device, string blobId, long length)
    {
        lock (_gate)
        {
            Caller(device);
            if (length > MaxBlobBytes)
            {
                throw DirectoryRefused(413, "too_large", "The attachment is too large.");
            }

            if (BlobExists(blobId))
            {
                throw DirectoryRefused(409, "blob_exists", "An attachment with this id exists; blobs are write-once.");
            }
        }
    }

    internal void StoreBlob(DeviceId device, string blobId, byte[] data)
    {
        DateTimeOffset now = TimeProvider.GetUtcNow();
        lock (_gate)
        {
            Caller(device);
            if (BlobExists(blobId))
            {
                throw DirectoryRefused(409, "blob_exists", "An attachment with this id exists; blobs are write-once.");
            }

            _blobs[blobId] = new StoredBlob(data, now + EnvelopeTimeToLive);
        }
    }

    internal byte[] ReadBlob(DeviceId device, string blobId)
    {
        lock (_gate)
        {
            Caller(device);
            return BlobExists(blobId) ? _blobs[blobId].Data : throw DirectoryRefused(404, "blob_not_found", "No attachment with this id.");
        }
    }

    private static PublicPrekey? TakeLowest(SortedDictionary<uint, PublicPrekey> prekeys)
    {
        if (prekeys.Count == 0)
        {
            return null;
        }

        KeyValuePair<uint, PublicPrekey> lowest = prekeys.First();
        prekeys.Remove(lowest.Key);
        return lowest.Value;
    }

    private bool BlobExists(string blobId) =>
        _blobs.TryGetValue(blobId, out StoredBlob? blob) && blob.Expires > TimeProvider.GetUtcNow();

    /// <summary>The calling device's entry; an unregistered or revoked device is refused as the relay refuses its signature.</summary>
    private DirectoryEntry Caller(DeviceId device) =>
        _directory.TryGetValue(device, out DirectoryEntry? entry)
            ? entry
            : throw DirectoryRefused(401, "unknown_device", "The calling device is not registered (or was revoked).");

    private static RelayRequestException DirectoryRefused(int status, string code, string message) => DirectoryRefusal.Create(status, code, message);

    private sealed class DirectoryEntry(UserId user, IdentityKey identity)
    {
        public UserId User { get; } = user;

        public IdentityKey Identity { get; } = identity;

        public SignedEnvelopeKey? EnvelopeKey { get; set; }

        public PublicPrekey? SignedPrekey { get; set; }

        public PublicPrekey? LastResortKemPrekey { get; set; }

        public SortedDictionary<uint, PublicPrekey> OneTime { get; } = [];

        public SortedDictionary<uint, PublicPrekey> OneTimeKem { get; } = [];

        public DirectoryDevice Describe(DeviceId device) => new(User, device, Identity, EnvelopeKey!);
    }

    private sealed record StoredClaim(UserId User, DeviceId Device, DateTimeOffset ClaimedAt, DateTimeOffset Expires);

    private sealed record StoredBlob(byte[] Data, DateTimeOffset Expires)
    {
        public override string ToString() => $"StoredBlob({Data.Length} bytes)";
    }
}
