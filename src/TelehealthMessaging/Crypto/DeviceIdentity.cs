namespace TelehealthMessaging.Crypto;

/// <summary>
/// A device's long-term identity: an Ed25519 signing key and an X25519 agreement key, with the signature that binds
/// the second to the first.
/// </summary>
internal sealed class DeviceIdentity : IDisposable
{
    private const byte ExportVersion = 1;
    private const int ExportSize = 1 + Ed25519PrivateKey.SeedSize + X25519PrivateKey.KeySize;

    private readonly Ed25519PrivateKey _signingKey;
    private readonly X25519PrivateKey _agreementKey;

    private DeviceIdentity(Ed25519PrivateKey signingKey, X25519PrivateKey agreementKey)
    {
        _signingKey = signingKey;
        _agreementKey = agreementKey;
        byte[] signature = signingKey.Sign(IdentityKey.BindingMessage(signingKey.PublicKey, agreementKey.PublicKey));
        PublicKey = new IdentityKey(signingKey.PublicKey, agreementKey.PublicKey, signature);
    }

    /// <summary>The public identity to publish.</summary>
    public IdentityKey PublicKey { get; }

    internal X25519PrivateKey AgreementKey => _agreementKey;

    public static DeviceIdentity Generate() => new(Ed25519PrivateKey.Generate(), X25519PrivateKey.Generate());

    /// <summary>Signs <paramref name="message"/> with the Ed25519 identity key.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message) => _signingKey.Sign(message);

    /// <summary>Exports version (1) ‖ Ed25519 seed (32) ‖ X25519 private key (32) for a key store.</summary>
    public byte[] Export()
    {
        byte[] exported = new byte[ExportSize];
        exported[0] = ExportVersion;
        _signingKey.Export(exported.AsSpan(1, Ed25519PrivateKey.SeedSize));
        _agreementKey.Export(exported.AsSpan(1 + Ed25519PrivateKey.SeedSize));
        return exported;
    }

    /// <summary>Imports what <see cref="Export"/> wrote; the binding signature is recomputed (Ed25519 is deterministic).</summary>
    public static DeviceIdentity Import(ReadOnlySpan<byte> exported)
    {
        if (exported.Length != ExportSize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPrivateKey, "An exported device identity", ExportSize, exported.Length);
        }

        if (exported[0] != ExportVersion)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"Device identity export version {exported[0]} is not supported.");
        }

        Ed25519PrivateKey signing = Ed25519PrivateKey.Import(exported.Slice(1, Ed25519PrivateKey.SeedSize));
        X25519PrivateKey agreement = X25519PrivateKey.Import(exported[(1 + Ed25519PrivateKey.SeedSize)..]);
        return new DeviceIdentity(signing, agreement);
    }

    public void Dispose()
    {
        _signingKey.Dispose();
        _agreementKey.Dispose();
    }

    public override string ToString() => $"DeviceIdentity({PublicKey})";
}
