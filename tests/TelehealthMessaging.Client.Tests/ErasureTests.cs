using System.Text;
using TelehealthMessaging.Client.Tests.Infrastructure;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging.Client.Tests;

/// <summary>
/// Erasure through the client (GDPR Art. 17, PIPA Art. 21): a conversation erased explicitly or by retention is gone
/// from the encrypted store, even after reopening it with the passphrase; the erase is audited and the chain verifies.
/// </summary>
#pragma warning disable CA1001 // xunit disposes the relay target through IAsyncLifetime.DisposeAsync.
public sealed class ErasureTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string Canary = "ZQERASEcanary prescription details";
    private static readonly ClinicId Clinic = new("erase-clinic");
    private RelayTarget _target = null!;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telehealth-erase-tests", Guid.NewGuid().ToString("N"));
    private Uri _relay = null!;

    public async Task InitializeAsync()
    {
        _target = new InMemoryRelayTarget();
        _relay = await _target.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _target.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_erased_conversation_is_unrecoverable_from_the_store_and_the_erase_is_audited(bool byRetention)
    {
        var patientId = new UserId("patient-erase");
        ConversationId conversation;
        await using (TestParty clinician = TestParty.Create(_relay, new UserId("dr-erase"), ParticipantRole.Clinician, Clinic))
        {
            using EncryptedFileStore store = await OpenStoreAsync();
            await using TestParty patient = TestParty.Create(_relay, patientId, ParticipantRole.Patient, store: store);
            await Task.WhenAll(clinician.Client.StartAsync(), patient.Client.StartAsync());
            conversation = (await patient.Client.Conversations.OpenWithClinicAsync(Clinic)).Id;
            ConversationMessage sent = await patient.Client.Messages.SendTextAsync(conversation, Canary);
            await clinician.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == sent.Id);
            ConversationMessage reply = await clinician.Client.Messages.SendTextAsync(conversation, Canary + " reply");
            await patient.Events.WaitAsync<MessageReceivedEvent>(e => e.Message.Id == reply.Id);
            await patient.Client.FlushAsync();
            Assert.Equal(2, (await patient.Client.Conversations.GetHistoryAsync(conversation)).Messages.Count);

            if (byRetention)
            {
                Assert.Equal(0, await patient.Client.Compliance.ApplyRetentionAsync());
            }
            else
            {
                await patient.Client.Conversations.EraseAsync(conversation);
            }
        }

        if (byRetention)
        {
            using EncryptedFileStore store = await OpenStoreAsync();
            await using TestParty patient = TestParty.Create(_relay, patientId, ParticipantRole.Patient, store: store, retention: TimeSpan.FromMilliseconds(1));
            Assert.Equal(1, await patient.Client.Compliance.ApplyRetentionAsync());
        }

        using (EncryptedFileStore reopened = await OpenStoreAsync())
        {
            await using TestParty patient = TestParty.Create(_relay, patientId, ParticipantRole.Patient, store: reopened);
            Assert.Empty((await patient.Client.Conversations.GetHistoryAsync(conversation)).Messages);
            Assert.DoesNotContain(await patient.Client.Conversations.ListAsync(), c => c.Id == conversation);
            Assert.Empty(await reopened.Data.ListAsync("c/" + conversation.Value, "messages"));
            Assert.True((await patient.Client.Compliance.VerifyAuditLogAsync()).IsValid);
            IReadOnlyList<AuditRecord> audit = await patient.Client.Compliance.GetAuditLogAsync();
            AuditAction expected = byRetention ? AuditAction.RetentionPurge : AuditAction.DataErased;
            Assert.Contains(audit, r => r.Action == expected && r.Subjects.Any(s => s.Id == conversation.Value));
            Assert.Contains(audit, r => r.Action == AuditAction.MessageSent);
        }

        foreach (string file in Directory.EnumerateFiles(_folder, "*", SearchOption.AllDirectories))
        {
            byte[] bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("ZQERASE")) < 0, $"{Path.GetFileName(file)} holds plaintext");
        }
    }

    private Task<EncryptedFileStore> OpenStoreAsync() =>
        EncryptedFileStore.OpenAsync(_folder, new PassphraseKeyProtector("correct horse battery staple", new PassphraseKeyProtectorOptions { MemoryKiB = 1024, Iterations = 1 }));
}
