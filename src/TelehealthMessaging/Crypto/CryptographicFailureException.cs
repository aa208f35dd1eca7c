namespace TelehealthMessaging.Crypto;

/// <summary>Why a cryptographic check refused its input.</summary>
internal enum CryptographicFailureReason
{
    /// <summary>An AEAD tag or MAC did not verify: the data was altered, or the key, nonce or associated data differ.</summary>
    AuthenticationFailed,

    /// <summary>A Diffie-Hellman agreement produced the all-zero secret: the peer sent a low-order public key.</summary>
    NonContributoryPublicKey,

    /// <summary>A public key has the wrong length or is not a valid encoding (for example an ML-KEM modulus check failed).</summary>
    InvalidPublicKey,

    /// <summary>A private key or seed has the wrong length or fails its own consistency check.</summary>
    InvalidPrivateKey,

    /// <summary>A ciphertext, encapsulation or signature has the wrong length.</summary>
    InvalidLength,

    /// <summary>Wire-format bytes are truncated, carry an oversize length or have trailing bytes.</summary>
    MalformedEncoding,

    /// <summary>An encryption context has used every sequence number it may use.</summary>
    MessageLimitReached,

    /// <summary>An Ed25519 signature over an identity key or a prekey did not verify.</summary>
    InvalidSignature,

    /// <summary>Wire bytes name a format version, message type or algorithm identifier this implementation does not know.</summary>
    UnsupportedAlgorithm,

    /// <summary>A prekey message names a prekey this device does not hold (never issued, rotated out, or a one-time prekey already used).</summary>
    UnknownPrekey,

    /// <summary>A ratchet message's key was already used or is no longer held: a replay or duplicate delivery.</summary>
    DuplicateMessage,

    /// <summary>A ratchet message would skip more message keys than the session allows (MaxSkip).</summary>
    TooManySkippedMessages,

    /// <summary>A prekey bundle, prekey message or stored session belongs to a different identity than the peer device's.</summary>
    IdentityMismatch,

    /// <summary>A sealed envelope is addressed to another device than the one opening it.</summary>
    WrongRecipient,
}

/// <summary>
/// The one exception the crypto layer throws for input it refuses. Callers see a <see cref="TelehealthException"/>
/// with <see cref="TelehealthErrorCode.IntegrityCheckFailed"/>; code inside the SDK can branch on <see cref="Reason"/>.
/// </summary>
/// <remarks>Messages name the check that failed, never key bytes, plaintext or ciphertext.</remarks>
internal sealed class CryptographicFailureException : TelehealthException
{
    public CryptographicFailureException(CryptographicFailureReason reason, string message, Exception? innerException = null)
        : base(TelehealthErrorCode.IntegrityCheckFailed, message, innerException)
    {
        Reason = reason;
    }

    public CryptographicFailureReason Reason { get; }

    internal static CryptographicFailureException AuthenticationFailed(string what) =>
        new(CryptographicFailureReason.AuthenticationFailed, $"{what} failed authentication; nothing was decrypted.");

    internal static CryptographicFailureException WrongLength(CryptographicFailureReason reason, string what, int expected, int actual) =>
        new(reason, $"{what} must be {expected} bytes but was {actual}.");
}
