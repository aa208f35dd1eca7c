// The runnable relay: `dotnet run --project src/TelehealthMessaging.Relay`. Listens on http://127.0.0.1:5080 and keeps
// an SQLite file under ./relay-data unless the "Relay" configuration section (appsettings, environment variables
// Relay__StorageProvider, Relay__PostgresConnectionString, …, or command-line --Relay:Key=value) says otherwise.
WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
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
app.Run();
