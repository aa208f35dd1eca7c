using System.Security.Cryptography;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Storage;

/// <summary>
/// The working keys of an unlocked <see cref="EncryptedFileStore"/>: the record and file-name keys derived from the
/// store key, and the keys of every scope used since the store was unlocked.
/// </summary>
/// <remarks>
/// One instance lives from an open or unlock to the next lock. <see cref="StoreKeyring"/> counts the calls using it
/// and zeroes it once it is retired and the last of them has finished, so no call ever seals with a zeroed key.
/// </remarks>
internal sealed class StoreKeys
{
    private readonly Dictionary<string, ScopeKeys> _scopes = new(StringComparer.Ordinal);
    private readonly object _scopesGate = new();

    public StoreKeys(byte[] storeId, ReadOnlySpan<byte> storeKey)
    {
        StoreId = storeId;
        HkdfSha256.DeriveKey(storeKey, storeId, RecordKeyInfo, RecordKey);
        HkdfSha256.DeriveKey(storeKey, storeId, NameKeyInfo, NameKey);
    }

    /// <summary>The store's random id: not secret, but bound into every record's associated data.</summary>
    public byte[] StoreId { get; }

    /// <summary>Encrypts the top-level records (keys, sessions, scope keys).</summary>
    public byte[] RecordKey { get; } = new byte[Aead.KeySize];

    /// <summary>Names the top-level record files.</summary>
    public byte[] NameKey { get; } = new byte[HmacSha256.TagSize];

    /// <summary>Calls currently using these keys; guarded by the keyring's lock.</summary>
    internal int Leases { get; set; }

    /// <summary>Set when the store locked or was disposed; guarded by the keyring's lock.</summary>
    internal bool Retired { get; set; }

    internal bool IsZeroed { get; private set; }

    private static ReadOnlySpan<byte> RecordKeyInfo => "TelehealthMessaging.Storage v1 record encryption"u8;

    private static ReadOnlySpan<byte> NameKeyInfo => "TelehealthMessaging.Storage v1 file names"u8;

    public bool TryGetScope(string scope, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ScopeKeys? keys)
    {
        lock (_scopesGate)
        {
            return _scopes.TryGetValue(scope, out keys);
        }
    }

    public void AddScope(string scope, ScopeKeys keys)
    {
        lock (_scopesGate)
        {
            if (_scopes.Remove(scope, out ScopeKeys? old))
            {
                old.Zero();
            }

            _scopes[scope] = keys;
        }
    }

    public void RemoveScope(string scope)
    {
        lock (_scopesGate)
        {
            if (_scopes.Remove(scope, out ScopeKeys? old))
            {
                old.Zero();
            }
        }
    }

    public void Zero()
    {
        CryptographicOperations.ZeroMemory(RecordKey);
        CryptographicOperations.ZeroMemory(NameKey);
        lock (_scopesGate)
        {
            foreach (ScopeKeys scope in _scopes.Values)
            {
                scope.Zero();
            }

            _scopes.Clear();
        }

        IsZeroed = true;
    }

    public override string ToString() => nameof(StoreKeys);
}

/// <summary>The keys of one scope, derived from its random scope key, which is kept only as a record under the store key.</summary>
internal sealed class ScopeKeys
{
    public const int ScopeKeySize = 32;

    private ScopeKeys(byte[] token)
    {
        Token = token;
    }

    /// <summary>The token of the scope-key record; names the scope's folder and is bound into its records.</summary>
    public byte[] Token { get; }

    /// <summary>Encrypts the scope's records and indexes.</summary>
    public byte[] RecordKey { get; } = new byte[Aead.KeySize];

    /// <summary>Names the scope's record and index files.</summary>
    public byte[] NameKey { get; } = new byte[HmacSha256.TagSize];

    private static ReadOnlySpan<byte> RecordKeyInfo => "TelehealthMessaging.Storage v1 scope record encryption"u8;

    private static ReadOnlySpan<byte> NameKeyInfo => "TelehealthMessaging.Storage v1 scope file names"u8;

    /// <summary>Derives a scope's keys; the caller zeroes <paramref name="scopeKey"/>.</summary>
    public static ScopeKeys Derive(ReadOnlySpan<byte> storeId, byte[] token, ReadOnlySpan<byte> scopeKey)
    {
        if (scopeKey.Length != ScopeKeySize)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.MalformedEncoding, "A scope key record does not hold a 32-byte key.");
        }

        var keys = new ScopeKeys(token);
        HkdfSha256.DeriveKey(scopeKey, storeId, RecordKeyInfo, keys.RecordKey);
        HkdfSha256.DeriveKey(scopeKey, storeId, NameKeyInfo, keys.NameKey);
        return keys;
    }

    public void Zero()
    {
        CryptographicOperations.ZeroMemory(RecordKey);
        CryptographicOperations.ZeroMemory(NameKey);
    }

    public override string ToString() => nameof(ScopeKeys);
}
