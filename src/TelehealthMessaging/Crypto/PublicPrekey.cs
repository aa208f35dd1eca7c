using System.Text;

namespace TelehealthMessaging.Crypto;

/// <summary>The role of a prekey; part of what its signature covers, so a key cannot be replayed in another role.</summary>
internal enum PrekeyKind : byte
{
    /// <summary>The medium-term X25519 prekey, rotated on a schedule.</summary>
    SignedX25519 = 1,

    /// <summary>An X25519 prekey used for one session, then deleted.</summary>
    OneTimeX25519 = 2,

    /// <summary>An ML-KEM-768 prekey used for one session, then deleted.</summary>
    OneTimeMLKem768 = 3,

    /// <summary>The ML-KEM-768 prekey handed out when no one-time one is left; reused until it is rotated.</summary>
    LastResortMLKem768 = 4,
}

/// <summary>The public half of a prekey as published to the relay: role, algorithm, id, creation time, key and signature.</summary>
internal sealed class PublicPrekey
{
    public const byte AlgorithmX25519 = 0x01;
    public const byte AlgorithmMLKem768 = 0x02;

    /// <summary>Upper bound on an encoded key field; room for algorithm agility while keeping parsing bounded.</summary>
    internal const int MaxKeyFieldSize = 4096;
    internal const int MaxSignatureFieldSize = 256;

    private static readonly byte[] SignatureLabel = Encoding.ASCII.GetBytes("TelehealthMessaging_Prekey_v1");

    private readonly byte[] _publicKey;
    private readonly byte[] _signature;

    internal PublicPrekey(PrekeyKind kind, byte algorithm, uint id, ulong createdAt, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature)
    {
        Kind = kind;
        Algorithm = algorithm;
        Id = id;
        CreatedAt = createdAt;
        _publicKey = publicKey.ToArray();
        _signature = signature.ToArray();
    }

    public PrekeyKind Kind { get; }

    public byte Algorithm { get; }

    public uint Id { get; }

    /// <summary>Creation time in Unix seconds (UTC).</summary>
    public ulong CreatedAt { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public ReadOnlySpan<byte> Signature => _signature;

    public bool IsKem => Kind is PrekeyKind.OneTimeMLKem768 or PrekeyKind.LastResortMLKem768;

    /// <summary>Signs a new prekey with the device identity.</summary>
    internal static PublicPrekey Create(DeviceIdentity identity, PrekeyKind kind, uint id, ulong createdAt, ReadOnlySpan<byte> publicKey)
    {
        byte algorithm = kind is PrekeyKind.SignedX25519 or PrekeyKind.OneTimeX25519 ? AlgorithmX25519 : AlgorithmMLKem768;
        byte[] signature = identity.Sign(SignedBytes(kind, algorithm, id, createdAt, publicKey));
        return new PublicPrekey(kind, algorithm, id, createdAt, publicKey, signature);
    }

    /// <summary>label ‖ kind ‖ algorithm ‖ id ‖ created ‖ u32 key length ‖ key: what the identity signs.</summary>
    internal static byte[] SignedBytes(PrekeyKind kind, byte algorithm, uint id, ulong createdAt, ReadOnlySpan<byte> publicKey) =>
        new WireWriter(SignatureLabel.Length + 18 + publicKey.Length)
            .WriteFixed(SignatureLabel)
            .WriteUInt8((byte)kind)
            .WriteUInt8(algorithm)
            .WriteUInt32(id)
            .WriteUInt64(createdAt)
            .WriteBytes(publicKey, MaxKeyFieldSize)
            .ToArray();

    public void Write(WireWriter writer) =>
        writer.WriteUInt8((byte)Kind)
            .WriteUInt8(Algorithm)
            .WriteUInt32(Id)
            .WriteUInt64(CreatedAt)
            .WriteBytes(_publicKey, MaxKeyFieldSize)
            .WriteBytes(_signature, MaxSignatureFieldSize);

    /// <summary>Reads the structure only; <see cref="Verify"/> checks role, algorithm, lengths and signature.</summary>
    public static PublicPrekey Read(ref WireReader reader, string field)
    {
        byte kind = reader.ReadUInt8(field + ".kind");
        byte algorithm = reader.ReadUInt8(field + ".algorithm");
        uint id = reader.ReadUInt32(field + ".id");
        ulong createdAt = reader.ReadUInt64(field + ".createdAt");
        ReadOnlySpan<byte> publicKey = reader.ReadBytes(MaxKeyFieldSize, field + ".publicKey");
        ReadOnlySpan<byte> signature = reader.ReadBytes(MaxSignatureFieldSize, field + ".signature");
        return new PublicPrekey((PrekeyKind)kind, algorithm, id, createdAt, publicKey, signature);
    }

    /// <summary>
    /// Checks that the prekey has one of <paramref name="allowedKinds"/>, the algorithm its role requires, a key and
    /// signature of the right length, a valid ML-KEM key (FIPS 203 modulus check) and a signature by
    /// <paramref name="signingKey"/>. Throws <see cref="CryptographicFailureException"/> naming the failed check.
    /// </summary>
    public void Verify(ReadOnlySpan<byte> signingKey, string field, params PrekeyKind[] allowedKinds)
    {
        if (Array.IndexOf(allowedKinds, Kind) < 0)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"The {field} has prekey kind {(byte)Kind}, which is not allowed there.");
        }

        if (IsKem)
        {
            RequireAlgorithm(AlgorithmMLKem768, field);
            if (_publicKey.Length != MLKem768.EncapsulationKeySize)
            {
                throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, $"The {field} key", MLKem768.EncapsulationKeySize, _publicKey.Length);
            }

            MLKem768.ValidateEncapsulationKey(_publicKey);
        }
        else
        {
            RequireAlgorithm(AlgorithmX25519, field);
            if (_publicKey.Length != X25519PrivateKey.PublicKeySize)
            {
                throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidPublicKey, $"The {field} key", X25519PrivateKey.PublicKeySize, _publicKey.Length);
            }
        }

        if (_signature.Length != Ed25519.SignatureSize)
        {
            throw CryptographicFailureException.WrongLength(CryptographicFailureReason.InvalidLength, $"The {field} signature", Ed25519.SignatureSize, _signature.Length);
        }

        if (!Ed25519.Verify(signingKey, SignedBytes(Kind, Algorithm, Id, CreatedAt, _publicKey), _signature))
        {
            throw new CryptographicFailureException(CryptographicFailureReason.InvalidSignature, $"The {field} signature does not verify.");
        }
    }

    private void RequireAlgorithm(byte expected, string field)
    {
        if (Algorithm != expected)
        {
            throw new CryptographicFailureException(CryptographicFailureReason.UnsupportedAlgorithm, $"The {field} has algorithm id {Algorithm}; its role requires {expected}.");
        }
    }

    public override string ToString() => $"PublicPrekey({Kind}, id {Id})";
}
