using System.Globalization;
using System.Security.Cryptography;

namespace TelehealthMessaging.Benchmarks;

/// <summary>Wire overhead (encoded length − plaintext length) of each message kind; a size, not a timing.</summary>
internal static class MessageOverhead
{
    public static string MeasureJson()
    {
        byte[] small = RandomNumberGenerator.GetBytes(256);
        byte[] large = RandomNumberGenerator.GetBytes(64 * 1024);
        using var pair = new SessionPair();
        int prekeyMessage = MeasurePrekeyMessage(pair, small);

        // Bob's reply ends the prekey phase: from here Alice sends plain ratchet messages.
        pair.BobToAlice(small);
        int steady = pair.AliceSessions.Encrypt(small).Length - small.Length;
        int steadyLarge = pair.AliceSessions.Encrypt(large).Length - large.Length;
        return string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"unsealed256": {{steady}}, "unsealed64K": {{steadyLarge}}, "prekeyMessage256": {{prekeyMessage}}}""");
    }

    private static int MeasurePrekeyMessage(SessionPair pair, byte[] plaintext)
    {
        pair.AliceSessions.Initiate(Crypto.PrekeyBundle.Parse(pair.CreateBundle()));
        byte[] message = pair.AliceSessions.Encrypt(plaintext);
        pair.BobSessions.Decrypt(message, pair.BobPrekeys);
        return message.Length - plaintext.Length;
    }
}
