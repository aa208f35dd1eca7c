using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TelehealthMessaging.Relay.Tests;

public class RelayHostBuilderTests
{
    private static List<FileConfigurationProvider> ConfigurationFiles(IConfiguration configuration)
    {
        List<FileConfigurationProvider> files = ((IConfigurationRoot)configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        // appsettings.json and appsettings.{Environment}.json are always added (optional): an empty list would pass
        // the assertions below without testing anything.
        Assert.NotEmpty(files);
        return files;
    }

    [Fact]
    public void The_host_does_not_watch_its_configuration_files_so_no_watcher_sees_the_data_folder_under_the_content_root()
    {
        WebApplicationBuilder builder = RelayHostBuilder.Create([]);

        Assert.All(ConfigurationFiles(builder.Configuration), file => Assert.False(file.Source.ReloadOnChange));
    }

    [Fact]
    public void A_command_line_option_turns_reloading_on_again()
    {
        WebApplicationBuilder builder = RelayHostBuilder.Create(["--hostBuilder:reloadConfigOnChange=true"]);

        Assert.All(ConfigurationFiles(builder.Configuration), file => Assert.True(file.Source.ReloadOnChange));
    }

    [Fact]
    public async Task An_embedded_relay_does_not_watch_configuration_files()
    {
        string folder = Path.Combine(Path.GetTempPath(), "telehealth-relay-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using EmbeddedRelay relay = await EmbeddedRelay.StartAsync(options => options.DataDirectory = folder);

            Assert.All(ConfigurationFiles(relay.Services.GetRequiredService<IConfiguration>()), file => Assert.False(file.Source.ReloadOnChange));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
