using System.Security.Cryptography;

namespace TelehealthMessaging.Crypto;

/// <summary>The outputs of the RFC 9180 §5.1 key schedule; intermediate values are kept so tests can check them.</summary>
internal sealed class HpkeKeySchedule(byte[] keyScheduleContext, byte[] secret, byte[] key, byte[] baseNonce, byte[] exporterSecret) : IDisposable
{
    public ReadOnlySpan<byte> KeyScheduleContext => keyScheduleContext;

    public ReadOnlySpan<byte> Secret => secret;

    public ReadOnlySpan<byte> Key => key;

    public ReadOnlySpan<byte> BaseNonce => baseNonce;

    public ReadOnlySpan<byte> ExporterSecret => exporterSecret;

    /// <summary>Zeroes <see cref="Secret"/>, which only the derivation needs; contexts call this once they hold the schedule.</summary>
    public void ForgetSecret() => CryptographicOperations.ZeroMemory(secret);

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(secret);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(baseNonce);
        CryptographicOperations.ZeroMemory(exporterSecret);
    }

    public override string ToString() => "HpkeKeySchedule";
}
