// ClinicWorker: a clinic's always-on triage desk as a Generic Host worker. One clinician identity is registered with
// AddTelehealthMessaging and bound from the "Telehealth" section of appsettings.json; IntakeAcknowledger watches the
// clinic inbox, claims each new intake and acknowledges it to the patient.
//
//   dotnet run --project src/TelehealthMessaging.Relay                              (terminal 1: the relay)
//   TELEHEALTH_PASSPHRASE=choose-one dotnet run --project samples/ClinicWorker      (terminal 2: this worker)
//   dotnet run --project samples/PatientConsole, then `intake`                      (terminal 3: a patient)
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TelehealthMessaging.ClinicWorker;
using TelehealthMessaging.Storage;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
ClinicWorkerOptions settings = builder.Configuration.GetSection("ClinicWorker").Get<ClinicWorkerOptions>() ?? new ClinicWorkerOptions();

// The device's keys, sessions and local history live in an encrypted folder. Its passphrase comes from the
// environment (or any other configuration source) and never from appsettings.json.
if (builder.Configuration["TELEHEALTH_PASSPHRASE"] is not { Length: > 0 } passphrase)
{
    Console.Error.WriteLine("Set TELEHEALTH_PASSPHRASE to the passphrase of the worker's encrypted store.");
    return 2;
}

using var protector = new PassphraseKeyProtector(passphrase);
using EncryptedFileStore store = await EncryptedFileStore.OpenAsync(settings.DataDirectory, protector);

// The client is a singleton built from the "Telehealth" section; the options are validated when the host starts,
// with a message that names the wrong setting.
builder.Services.AddTelehealthMessaging(builder.Configuration.GetSection("Telehealth")).UseStore(store);
builder.Services.Configure<ClinicWorkerOptions>(builder.Configuration.GetSection("ClinicWorker"));
builder.Services.AddHostedService<IntakeAcknowledger>();

await builder.Build().RunAsync();
return 0;
