namespace TelehealthMessaging.Storage;

/// <summary>Names one record in an <see cref="IKeyStore"/>: a kind and an id within that kind.</summary>
/// <remarks>Ids are the protocol's prekey ids; the single records (<see cref="Identity"/>, <see cref="DeviceKeySet"/>) always have id 0.</remarks>
public readonly record struct KeyRecordName
{
    /// <summary>Names a record.</summary>
    /// <param name="kind">The kind of secret.</param>
    /// <param name="id">The id within the kind; 0 for <see cref="KeyRecordKind.Identity"/> and <see cref="KeyRecordKind.DeviceKeySet"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined kind, or the id of a single record is not 0.</exception>
    public KeyRecordName(KeyRecordKind kind, uint id)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown key record kind.");
        }

        if (IsSingle(kind) && id != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "The identity and device key set records have id 0.");
        }

        Kind = kind;
        Id = id;
    }

    /// <summary>The device's identity key pair record.</summary>
    public static KeyRecordName Identity => new(KeyRecordKind.Identity, 0);

    /// <summary>The device's prekey and envelope key set record.</summary>
    public static KeyRecordName DeviceKeySet => new(KeyRecordKind.DeviceKeySet, 0);

    /// <summary>The kind of secret.</summary>
    public KeyRecordKind Kind { get; }

    /// <summary>The id within <see cref="Kind"/>.</summary>
    public uint Id { get; }

    /// <summary>Names a signed prekey.</summary>
    /// <param name="id">The prekey id.</param>
    /// <returns>The record name.</returns>
    public static KeyRecordName SignedPreKey(uint id) => new(KeyRecordKind.SignedPreKey, id);

    /// <summary>Names a one-time prekey.</summary>
    /// <param name="id">The prekey id.</param>
    /// <returns>The record name.</returns>
    public static KeyRecordName OneTimePreKey(uint id) => new(KeyRecordKind.OneTimePreKey, id);

    /// <summary>Names a KEM prekey.</summary>
    /// <param name="id">The prekey id.</param>
    /// <returns>The record name.</returns>
    public static KeyRecordName KemPreKey(uint id) => new(KeyRecordKind.KemPreKey, id);

    /// <summary>Returns <c>Kind/Id</c>, for example <c>SignedPreKey/7</c>.</summary>
    /// <returns>The name as text.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Kind}/{Id}");

    internal static void ValidateKind(KeyRecordKind kind, string parameterName)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(parameterName, kind, "Unknown key record kind.");
        }
    }

    /// <summary>Refuses <c>default(KeyRecordName)</c> and other values that bypassed the constructor.</summary>
    internal static void Validate(KeyRecordName name, string parameterName)
    {
        if (!Enum.IsDefined(name.Kind) || (IsSingle(name.Kind) && name.Id != 0))
        {
            throw new ArgumentException("The key record name is not valid; create it with a KeyRecordName constructor or factory.", parameterName);
        }
    }

    private static bool IsSingle(KeyRecordKind kind) => kind is KeyRecordKind.Identity or KeyRecordKind.DeviceKeySet;
}
