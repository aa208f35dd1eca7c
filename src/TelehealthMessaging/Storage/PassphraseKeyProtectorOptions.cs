namespace TelehealthMessaging.Storage;

/// <summary>Argon2id cost parameters for <see cref="PassphraseKeyProtector"/>.</summary>
/// <remarks>
/// The defaults (64 MiB, 3 passes, 1 lane) follow the second recommended option of RFC 9106 §4 with one lane, and
/// exceed OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane). BouncyCastle's managed Argon2id is several times
/// slower than native libargon2, so measure the unlock time on target devices; OWASP's equivalent lower-memory settings
/// (for example 19 MiB with 2 passes) are acceptable where it matters. The parameters are stored with the wrapped key,
/// so changing them later only affects new stores.
/// </remarks>
public sealed class PassphraseKeyProtectorOptions
{
    /// <summary>Memory in KiB. Default 65536 (64 MiB). At least 8 × <see cref="Parallelism"/>.</summary>
    public int MemoryKiB { get; set; } = 64 * 1024;

    /// <summary>Passes over memory. Default 3. At least 1.</summary>
    public int Iterations { get; set; } = 3;

    /// <summary>Lanes. Default 1. 1 to 16.</summary>
    public int Parallelism { get; set; } = 1;

    /// <summary>
    /// The most memory, in KiB, this protector agrees to spend unwrapping a header written elsewhere, so an altered
    /// header cannot make it allocate without bound. Default 1048576 (1 GiB). At least <see cref="MemoryKiB"/>.
    /// </summary>
    public int MaxMemoryKiB { get; set; } = 1024 * 1024;

    /// <summary>The most passes this protector agrees to run when unwrapping. Default 32. At least <see cref="Iterations"/>.</summary>
    public int MaxIterations { get; set; } = 32;
}
