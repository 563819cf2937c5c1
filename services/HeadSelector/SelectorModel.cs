using Sprint.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sprint.Selector;

namespace Sprint.HeadSelector;

/// <summary>The selector artifact, loaded in the background at start-up.</summary>
public sealed class SelectorModel(SelectorOptions options, ILogger<SelectorModel> log) : BackgroundService, IHealthCheck
{
    volatile SelectorArtifact? artifact;
    Exception? failure;

    public SelectorArtifact? Artifact => artifact;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            var loaded = SelectorArtifact.Load(RepositoryPaths.Resolve(options.Artifact));
            if (!string.IsNullOrEmpty(options.ExpectedModelId) && loaded.Metadata.ModelId != options.ExpectedModelId)
            {
                loaded.Dispose();
                throw new InvalidOperationException($"{options.Artifact} was trained for model '{loaded.Metadata.ModelId}', not '{options.ExpectedModelId}'");
            }
            artifact = loaded;
            log.LogInformation("selector {Artifact} loaded: {Configs} configurations for {Model} ({Encoder})", options.Artifact,
                loaded.Metadata.Configs.Count, loaded.Metadata.ModelId, loaded.Metadata.EncoderId);
        }
        catch (Exception e)
        {
            failure = e;
            log.LogError(e, "loading {Artifact} failed", options.Artifact);
        }
    }, stoppingToken);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(artifact is not null ? HealthCheckResult.Healthy("selector loaded")
            : failure is not null ? HealthCheckResult.Unhealthy($"selector failed to load: {failure.Message}")
            : HealthCheckResult.Unhealthy("selector loading"));

    public override void Dispose()
    {
        artifact?.Dispose();
        base.Dispose();
    }
}
