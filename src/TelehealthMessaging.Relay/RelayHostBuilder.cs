namespace TelehealthMessaging.Relay;

/// <summary>The ASP.NET Core builder that the runnable host and <see cref="EmbeddedRelay"/> start from.</summary>
internal static class RelayHostBuilder
{
    /// <summary>
    /// Turns off reloading configuration files on change (a command-line <c>--hostBuilder:reloadConfigOnChange=true</c>
    /// after it turns it back on). The relay binds its options once at start, so a reload changes nothing; but to
    /// notice one, ASP.NET Core watches the content root and every folder under it, and the data folder is under it
    /// by default (<c>./relay-data</c>), so every write to the SQLite file woke a file watcher in the relay: 40-45 µs
    /// of relay CPU per envelope at maximum load against 32-38 µs without it, in three alternating pairs.
    /// </summary>
    internal const string NoConfigurationReload = "--hostBuilder:reloadConfigOnChange=false";

    public static WebApplicationBuilder Create(string[] args) => WebApplication.CreateSlimBuilder([NoConfigurationReload, .. args]);
}
