// The runnable relay: `dotnet run --project src/TelehealthMessaging.Relay`. Listens on http://127.0.0.1:5080 and keeps
// an SQLite file under ./relay-data unless the "Relay" configuration section (appsettings, environment variables
// Relay__StorageProvider, Relay__PostgresConnectionString, …, or command-line --Relay:Key=value) says otherwise.
// `… -- audit verify` and `… -- audit export <file>` check or export this instance's audit trail instead of serving.
if (args is [TelehealthMessaging.Relay.Audit.RelayAuditCommand.Name, ..])
{
    return await TelehealthMessaging.Relay.Audit.RelayAuditCommand.RunAsync(args, Console.Out, Console.Error);
}

WebApplicationBuilder builder = TelehealthMessaging.Relay.RelayHostBuilder.Create(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

builder.Services.AddTelehealthRelay(options => builder.Configuration.GetSection("Relay").Bind(options));

WebApplication app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseWebSockets();
app.MapTelehealthRelay();
await app.RunAsync();
return 0;
