namespace TelehealthMessaging.Storage;

/// <summary>
/// Protects the key of an <see cref="EncryptedFileStore"/>: wraps a freshly generated store key when the store is
/// created and unwraps it each time the store is opened.
/// </summary>
/// <remarks>
/// <para>
/// The wrapped blob is kept in the store's header file, in the clear, so it must be safe to disclose: back this with
/// the platform keystore (Android Keystore: encrypt with a non-exportable AES key; iOS Keychain or Secure Enclave:
/// encrypt with a key that never leaves it, or keep the key in the Keychain and return a reference; Windows: DPAPI
/// <c>ProtectedData.Protect</c> with an entropy value). <see cref="PassphraseKeyProtector"/> is the portable default.
/// </para>
/// <para>
/// Both methods may be slow (a user prompt, a key derivation); the store calls them once per open or create.
/// </para>
/// </remarks>
public interface IKeyProtector
{
    /// <summary>Wraps a store key.</summary>
    /// <param name="key">The 32-byte store key; do not keep a reference to it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>An opaque blob of at most 4096 bytes from which <see cref="UnwrapKeyAsync"/> recovers the key.</returns>
    ValueTask<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default);

    /// <summary>Unwraps a store key.</summary>
    /// <param name="wrappedKey">A blob returned by <see cref="WrapKeyAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The 32-byte store key, which the store zeroes once it has derived its working keys.</returns>
    /// <exception cref="TelehealthException">
    /// With <see cref="TelehealthErrorCode.IntegrityCheckFailed"/> when the blob does not unwrap (a wrong passphrase, a
    /// different device, an altered header). A protector that cannot detect this may return a wrong key: the store
    /// then refuses it when it checks its header.
    /// </exception>
    ValueTask<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrappedKey, CancellationToken cancellationToken = default);
}
