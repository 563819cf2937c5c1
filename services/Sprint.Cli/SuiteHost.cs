using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Sprint.Embedding;
using Sprint.Gateway;
using Sprint.Generator;
using Sprint.HeadSelector;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>All four services in one process on one port: the gateway's upstream addresses are this process.</summary>
public static class SuiteHost
{
    public static WebApplication Build(int port, string modelDir, string selectorArtifact, string? redis, bool quiet, IEnumerable<string> args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args.ToArray() });
        var settings = new Dictionary<string, string?>
        {
            ["Generator:Model"] = modelDir,
            ["Embedding:Model"] = modelDir,
            ["Selector:Artifact"] = selectorArtifact,
            ["Redis:Configuration"] = redis,
        };
        if (quiet) settings["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddCommandLine(args.ToArray());   // --Section:Key=value still overrides
        builder.AddServiceDefaults("sprint", port).AddGenerator().AddEmbedding().AddHeadSelector().AddGateway();
        if (quiet) builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGenerator().MapEmbedding().MapHeadSelector().MapGateway().MapServiceDefaults();
        return app;
    }

    /// <summary>The shipped default model folder, found from anywhere inside a clone.</summary>
    public static string DefaultModel() => RepositoryPaths.Resolve(Path.Combine("models", "sprint-tiny-math"));
}
