// Uses the published TelehealthMessaging package the way an app does: two identities registered in a Generic Host
// with AddTelehealthMessaging (keyed), an in-memory relay and in-memory stores; a patient writes to a clinician.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TelehealthMessaging;
using TelehealthMessaging.Messaging;
using TelehealthMessaging.Storage;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.AddTelehealthMessaging("patient", options =>
    {
        options.User = new UserId("patient-7");
        options.Role = ParticipantRole.Patient;
    })
    .UseInMemoryRelay("consumer")
    .UseStore(new InMemoryDeviceStore());
builder.Services.AddTelehealthMessaging("clinician", options =>
    {
        options.User = new UserId("dr-park");
        options.Role = ParticipantRole.Clinician;
    })
    .UseInMemoryRelay("consumer")
    .UseStore(new InMemoryDeviceStore());

IHost host = builder.Build();
// TelehealthClient is IAsyncDisposable only, so the host (and its container) must be disposed asynchronously.
await using (host as IAsyncDisposable)
{
    await host.StartAsync();
    TelehealthClient patient = host.Services.GetRequiredKeyedService<TelehealthClient>("patient");
    TelehealthClient clinician = host.Services.GetRequiredKeyedService<TelehealthClient>("clinician");
    Console.WriteLine($"Resolved {patient.User} ({patient.Role}) and {clinician.User} ({clinician.Role})");

    var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
    clinician.MessageReceived += (_, e) =>
    {
        if (e.Message.Message.Content is TextContent text)
        {
            received.TrySetResult(text.Text);
        }
    };
    await Task.WhenAll(patient.StartAsync(), clinician.StartAsync());

    Conversation conversation = await patient.Conversations.OpenWithUserAsync(clinician.User);
    await patient.Messages.SendTextAsync(conversation.Id, "Hello from the packed package");
    string delivered = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine($"{clinician.User} received: {delivered}");
    await host.StopAsync();
}

return 0;
