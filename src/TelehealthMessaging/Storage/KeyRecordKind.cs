namespace TelehealthMessaging.Storage;

/// <summary>The kinds of secret a device keeps in its <see cref="IKeyStore"/>.</summary>
public enum KeyRecordKind
{
    /// <summary>The device's long-term identity key pair; there is one, with id 0.</summary>
    Identity = 1,

    /// <summary>A signed prekey, by its id.</summary>
    SignedPreKey = 2,

    /// <summary>A one-time prekey, by its id.</summary>
    OneTimePreKey = 3,

    /// <summary>A post-quantum (KEM) prekey, by its id.</summary>
    KemPreKey = 4,

    /// <summary>
    /// The device's current set of prekeys and envelope keys with their rotation state, kept as one record so that one
    /// atomic write updates them together; there is one, with id 0.
    /// </summary>
    DeviceKeySet = 5,
}
