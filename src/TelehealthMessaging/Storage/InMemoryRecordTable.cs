using System.Security.Cryptography;

namespace TelehealthMessaging.Storage;

/// <summary>
/// The record table behind the in-memory stores: copies values in and out under one lock and zeroes values it drops.
/// </summary>
internal sealed class InMemoryRecordTable<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, byte[]> _records = [];
    private readonly object _gate = new();

    public byte[]? Get(TKey key)
    {
        lock (_gate)
        {
            return _records.TryGetValue(key, out byte[]? value) ? (byte[])value.Clone() : null;
        }
    }

    public void Set(TKey key, ReadOnlySpan<byte> value)
    {
        StoreLimits.CheckValueLength(value.Length);
        byte[] copy = value.ToArray();
        lock (_gate)
        {
            if (_records.TryGetValue(key, out byte[]? old))
            {
                CryptographicOperations.ZeroMemory(old);
            }

            _records[key] = copy;
        }
    }

    public bool Remove(TKey key)
    {
        lock (_gate)
        {
            if (!_records.Remove(key, out byte[]? old))
            {
                return false;
            }

            CryptographicOperations.ZeroMemory(old);
            return true;
        }
    }

    public List<TKey> Keys(Func<TKey, bool> predicate)
    {
        lock (_gate)
        {
            return _records.Keys.Where(predicate).ToList();
        }
    }
}
