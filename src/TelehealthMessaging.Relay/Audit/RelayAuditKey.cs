using System.Security.Cryptography;
using System.Text;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Relay.Audit;

/// <summary>
/// A relay instance's audit identity: its chain id (the <see cref="DeviceId"/> its audit records name as recorder) and
/// the Ed25519 key that signs its audit heads and checkpoints. Kept in one file readable by its owner only, like an
/// SSH host key: <c>version:u8(1) | seed[32] | idLength:u8 | id (ASCII)</c>.
/// </summary>
internal sealed class RelayAuditKey : IDisposable
{
    private const byte Version = 1;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Ed25519PrivateKey _key;

    private RelayAuditKey(DeviceId instanceId, Ed25519PrivateKey key)
    {
        InstanceId = instanceId;
        _key = key;
        Signer = new AuditSigner(key.PublicKey.ToArray(), message => _key.Sign(message.Span));
    }

    public DeviceId InstanceId { get; }

    public AuditSigner Signer { get; }

    /// <summary>Reads the key file, or creates it with a new key and a new instance id when there is none.</summary>
    /// <exception cref="InvalidOperationException">The file exists but is not a key file, or others may read it.</exception>
    public static RelayAuditKey LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            TryCreate(path);
        }

        return Load(path);
    }

    /// <summary>Reads an existing key file.</summary>
    /// <exception cref="InvalidOperationException">The file is missing, is not a key file, or others may read it.</exception>
    public static RelayAuditKey Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"No relay audit key file at '{path}'.");
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
        {
            throw new InvalidOperationException($"The relay audit key file '{path}' is accessible to other users; restrict it to its owner (chmod 600).");
        }

        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            int idStart = 2 + Ed25519PrivateKey.SeedSize;
            if (bytes.Length <= idStart || bytes[0] != Version || bytes.Length != idStart + bytes[idStart - 1])
            {
                throw new InvalidOperationException($"The file '{path}' is not a relay audit key file.");
            }

            string id = Encoding.ASCII.GetString(bytes, idStart, bytes.Length - idStart);
            if (!Identifier.IsValid(id))
            {
                throw new InvalidOperationException($"The file '{path}' is not a relay audit key file.");
            }

            return new RelayAuditKey(new DeviceId(id), Ed25519PrivateKey.Import(bytes.AsSpan(1, Ed25519PrivateKey.SeedSize)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    public void Dispose() => _key.Dispose();

    public override string ToString() => $"RelayAuditKey {{ InstanceId = {InstanceId} }}";

    // Written to a private temporary file and moved into place without overwriting, so that two processes starting on
    // one folder end up with the same key and nobody ever reads a half-written file.
    private static void TryCreate(string path)
    {
        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        string temporary = fullPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        string id = "relay-" + DeviceId.New().Value;
        byte[] bytes = new byte[2 + Ed25519PrivateKey.SeedSize + id.Length];
        try
        {
            using (Ed25519PrivateKey key = Ed25519PrivateKey.Generate())
            {
                bytes[0] = Version;
                key.Export(bytes.AsSpan(1, Ed25519PrivateKey.SeedSize));
            }

            bytes[1 + Ed25519PrivateKey.SeedSize] = (byte)id.Length;
            Encoding.ASCII.GetBytes(id, bytes.AsSpan(2 + Ed25519PrivateKey.SeedSize));
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnly;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, fullPath, overwrite: false);
            }
            catch (IOException) when (File.Exists(fullPath))
            {
                // Another process created it first: use theirs.
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            File.Delete(temporary);
        }
    }
}
