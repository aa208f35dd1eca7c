using Microsoft.Extensions.Time.Testing;
using TelehealthMessaging.Crypto;
using TelehealthMessaging.Tests.Storage;

namespace TelehealthMessaging.Tests.Crypto.Envelopes;

/// <summary>
/// A patient with three devices and a clinic with two exchange messages through a simulated relay that reorders,
/// duplicates and drops envelopes, while devices restart (and crash before store writes) at random points.
/// </summary>
public sealed class EnvelopePropertyTests
{
    [Theory]
    [InlineData(1, 2000)]
    [InlineData(2, 2000)]
    public Task Party_with_in_memory_stores_delivers_every_message_not_dropped(int seed, int steps) =>
        RunAsync(seed, steps, folder: null);

    [Theory]
    [InlineData(11, 250)]
    [InlineData(12, 250)]
    public async Task Party_with_encrypted_file_stores_survives_restarts_and_crashes_at_any_point(int seed, int steps)
    {
        using var folders = new FolderSet();
        await RunAsync(seed, steps, folders);
    }

    private static async Task RunAsync(int seed, int steps, FolderSet? folder)
    {
        var random = new Random(seed);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        string[] patientDevices = ["patient-phone", "patient-tablet", "patient-laptop"];
        string[] clinicDevices = ["clinic-nurse", "clinic-doctor"];
        var devices = new List<EnvelopeTestDevice>();
        try
        {
            foreach (string name in patientDevices)
            {
                devices.Add(folder is null ? await EnvelopeTestDevice.CreateAsync("patient-1", name, time) : await EnvelopeTestDevice.CreateWithFileStoreAsync("patient-1", name, time, folder.For(name)));
            }

            foreach (string name in clinicDevices)
            {
                devices.Add(folder is null ? await EnvelopeTestDevice.CreateAsync("clinic-7", name, time) : await EnvelopeTestDevice.CreateWithFileStoreAsync("clinic-7", name, time, folder.For(name)));
            }

            var pending = new List<InFlight>();
            var delivered = new List<InFlight>();
            int sent = 0, opened = 0, duplicatesRefused = 0, dropped = 0, restarts = 0, crashes = 0;

            for (int step = 0; step < steps; step++)
            {
                double action = random.NextDouble();
                if (action < 0.45 || pending.Count == 0)
                {
                    EnvelopeTestDevice sender = devices[random.Next(devices.Count)];
                    string plaintext = $"message {step} from {sender.Device}";
                    var recipients = new List<EnvelopeRecipient>();
                    var own = new List<EnvelopeRecipient>();
                    foreach (EnvelopeTestDevice device in devices.Where(d => d != sender))
                    {
                        (device.User == sender.User ? own : recipients).Add(await device.AsRecipientForAsync(sender));
                    }

                    try
                    {
                        IReadOnlyList<OutgoingEnvelope> envelopes = await sender.Messenger.SealAsync(recipients, SecureMessengerTests.Bytes(plaintext), own);
                        Assert.Equal(devices.Count - 1, envelopes.Count);
                        pending.AddRange(envelopes.Select(e => new InFlight(e, sender, plaintext)));
                        sent++;
                    }
                    catch (IOException)
                    {
                        // The crash hit a store write: envelopes never left the device; the sessions already stored
                        // count those messages as dropped.
                        crashes++;
                        await sender.RestartAsync();
                    }
                }
                else if (action < 0.80)
                {
                    int index = random.Next(pending.Count);
                    InFlight envelope = pending[index];
                    EnvelopeTestDevice recipient = devices.Single(d => d.Device == envelope.Envelope.RecipientDevice);
                    try
                    {
                        OpenedEnvelope result = await recipient.Messenger.OpenAsync(envelope.Envelope.Envelope);
                        Assert.Equal(envelope.Plaintext, SecureMessengerTests.Text(result.Plaintext));
                        Assert.Equal(envelope.Sender.Device, result.SenderDevice);
                        Assert.Equal(envelope.Sender.User, result.SenderUser);
                        Assert.Equal(envelope.Sender.User == recipient.User, result.IsFromOwnDevice);
                        pending.RemoveAt(index);
                        delivered.Add(envelope);
                        opened++;
                    }
                    catch (IOException)
                    {
                        // Crashed before the session was stored: the envelope is still owed and must open later.
                        crashes++;
                        await recipient.RestartAsync();
                    }
                }
                else if (action < 0.86 && delivered.Count > 0)
                {
                    InFlight duplicate = delivered[random.Next(delivered.Count)];
                    EnvelopeTestDevice recipient = devices.Single(d => d.Device == duplicate.Envelope.RecipientDevice);
                    byte[]? before = await recipient.SessionBytesAsync(duplicate.Sender);
                    await Assert.ThrowsAsync<CryptographicFailureException>(() => recipient.Messenger.OpenAsync(duplicate.Envelope.Envelope));
                    Assert.Equal(before, await recipient.SessionBytesAsync(duplicate.Sender));
                    duplicatesRefused++;
                }
                else if (action < 0.90)
                {
                    pending.RemoveAt(random.Next(pending.Count));
                    dropped++;
                }
                else if (action < 0.95)
                {
                    await devices[random.Next(devices.Count)].RestartAsync();
                    restarts++;
                }
                else
                {
                    devices[random.Next(devices.Count)].Crash.Arm(random.Next(4));
                }

                time.Advance(TimeSpan.FromSeconds(random.Next(1, 120)));
            }

            // Everything still in flight arrives in random order and opens.
            foreach (EnvelopeTestDevice device in devices)
            {
                device.Crash.Disarm();
            }

            foreach (InFlight envelope in pending.OrderBy(_ => random.Next()))
            {
                EnvelopeTestDevice recipient = devices.Single(d => d.Device == envelope.Envelope.RecipientDevice);
                OpenedEnvelope result = await recipient.Messenger.OpenAsync(envelope.Envelope.Envelope);
                Assert.Equal(envelope.Plaintext, SecureMessengerTests.Text(result.Plaintext));
                opened++;
            }

            Assert.True(sent > steps / 4, $"only {sent} sends");
            Assert.True(opened > sent, $"only {opened} opened");
            Assert.True(duplicatesRefused > 0 && dropped > 0 && restarts > 0 && (crashes > 0 || steps < 500), $"dup {duplicatesRefused} drop {dropped} restart {restarts} crash {crashes}");
        }
        finally
        {
            foreach (EnvelopeTestDevice device in devices)
            {
                device.Dispose();
            }
        }
    }

    private sealed record InFlight(OutgoingEnvelope Envelope, EnvelopeTestDevice Sender, string Plaintext);

    /// <summary>One temporary folder per device, deleted together.</summary>
    private sealed class FolderSet : IDisposable
    {
        private readonly Dictionary<string, TempFolder> _folders = [];

        public TempFolder For(string device)
        {
            if (!_folders.TryGetValue(device, out TempFolder? folder))
            {
                folder = new TempFolder();
                _folders[device] = folder;
            }

            return folder;
        }

        public void Dispose()
        {
            foreach (TempFolder folder in _folders.Values)
            {
                folder.Dispose();
            }
        }
    }
}
