using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Sprint.Embedding;
using Sprint.Gateway;
using Sprint.Generator;
using Sprint.HeadSelector;
using Sprint.Verifier;
using Sprint.ServiceDefaults;

namespace Sprint.Suite;

/// <summary>
/// All five services in one process on one port: the gateway's upstream addresses are this process. The selector
/// is optional here: without one for the model the suite serves sampling, random_heads and greedy, and sprint
/// answers FAILED_PRECONDITION with the commands that make a selector.
/// </summary>
public static class InProcessSuite
{
    /// <param name="selectorArtifact">Null: MODEL/selector.safetensors.</param>
    /// <param name="configure">Extra wiring before the host is built (e.g. a test's telemetry exporter).</param>
    public static WebApplication Build(int port, string modelDir, string? selectorArtifact, string? redis, bool quiet, IEnumerable<string> args,
        Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args.ToArray() });
        var settings = new Dictionary<string, string?>
        {
            ["Generator:Model"] = modelDir,
            ["Embedding:Model"] = modelDir,
            ["Verifier:Model"] = modelDir,   // its learned verifier, when the folder has one
            ["Selector:Model"] = modelDir,
            ["Selector:Artifact"] = selectorArtifact,
            ["Selector:Required"] = "false",
            ["Redis:Configuration"] = redis,
            ["Service:OpenApi"] = "true",   // a loopback tool: the OpenAPI document and Swagger UI on (off by default for a service)
        };
        if (quiet) settings["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddCommandLine(args.ToArray());   // --Section:Key=value still overrides
        AddInternalKey(builder.Configuration);
        builder.AddServiceDefaults("sprint", port).AddGenerator().AddEmbedding().AddHeadSelector().AddVerifier().AddGateway();
        if (quiet) builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapGenerator().MapEmbedding().MapHeadSelector().MapVerifier().MapGateway().MapServiceDefaults();
        return app;
    }

    /// <summary>
    /// With authentication on and no service key given, the gateway's calls to the other services in this process
    /// carry a key made for this process alone (random, accepted for every service, exempt from rate limits), so
    /// that a user configures only the keys of callers.
    /// </summary>
    static void AddInternalKey(ConfigurationManager configuration)
    {
        var auth = configuration.GetSection("Service:Auth").Get<AuthOptions>() ?? new AuthOptions();
        if (!auth.Enabled || !string.IsNullOrEmpty(auth.ServiceKey)) return;
        var key = ApiKeyHandler.NewKey();
        int index = configuration.GetSection("Service:Auth:ApiKeys").GetChildren().Count();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Service:Auth:ServiceKey"] = key,
            [$"Service:Auth:ApiKeys:{index}:Name"] = "sprint-serve-internal",
            [$"Service:Auth:ApiKeys:{index}:Sha256"] = ApiKeyHandler.Hash(key),
            [$"Service:Auth:ApiKeys:{index}:Services:0"] = "*",
            [$"Service:Auth:ApiKeys:{index}:Unlimited"] = "true",
        });
    }

    /// <summary>
    /// Waits until every part the suite needs has loaded. Throws <see cref="InvalidOperationException"/> naming each
    /// part that failed to load (at once, not after a time-out) or, after <paramref name="timeout"/>, each part still loading.
    /// </summary>
    public static async Task WaitReadyAsync(WebApplication app, TimeSpan timeout, CancellationToken ct)
    {
        var health = app.Services.GetRequiredService<HealthCheckService>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var report = await health.CheckHealthAsync(r => r.Tags.Contains(SprintServiceHost.ReadyTag), ct);
            if (report.Status == HealthStatus.Healthy) return;
            var failed = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy && e.Exception is not null).ToList();
            if (failed.Count > 0) throw new InvalidOperationException(string.Join("; ", failed.Select(e => e.Description)));
            if (clock.Elapsed > timeout)
                throw new InvalidOperationException("still loading after " + timeout.TotalSeconds + " s: " +
                    string.Join("; ", report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description)));
            await Task.Delay(100, ct);
        }
    }

    /// <summary>The shipped default model folder, found from anywhere inside a clone.</summary>
    public static string DefaultModel() => RepositoryPaths.Resolve(Inference.ModelHostOptions.DefaultModel);
}
