using Sprint.ServiceDefaults;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Sprint.Inference;
using Sprint.Inference.Generation;

namespace Sprint.Generator;

/// <summary>
/// Loads the model in the background at start-up (health stays NOT_SERVING until it is ready) and owns the batch
/// scheduler that every Generate call of this replica shares.
/// </summary>
public sealed class GeneratorEngine : BackgroundService, IHealthCheck
{
    readonly GeneratorOptions options;
    readonly ModelCatalog catalog;
    readonly ILogger<GeneratorEngine> log;
    readonly Counter<long> tokens;
    readonly Histogram<double> firstToken;

    public GeneratorEngine(GeneratorOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<GeneratorEngine> log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        var meter = meters.Create("Sprint.Generator");
        tokens = meter.CreateCounter<long>("sprint.generator.tokens", description: "Tokens generated");
        firstToken = meter.CreateHistogram<double>("sprint.generator.time_to_first_token", "ms");
        meter.CreateObservableGauge("sprint.generator.active_sequences", () => scheduler?.Stats.ActiveSequences ?? 0);
        meter.CreateObservableGauge("sprint.generator.queued_sequences", () => scheduler?.Stats.QueuedSequences ?? 0);
    }

    volatile BatchScheduler? scheduler;
    Exception? failure;

    /// <summary>Null while loading (or when loading failed).</summary>
    public BatchScheduler? Scheduler => scheduler;
    public GeneratorOptions Options => options;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            TorchThreads.Configure(options.Threads);
            var lm = catalog.Get(RepositoryPaths.Resolve(options.Model), LanguageModel.ParseDType(options.DType));
            if (lm.Tokenizer is null) throw new InvalidOperationException($"{options.Model} has no tokenizer files");
            scheduler = new BatchScheduler(lm, new EngineOptions
            {
                MaxConcurrentSequences = options.MaxConcurrentSequences,
                MaxBatchTokens = options.MaxBatchTokens > 0 ? options.MaxBatchTokens : (long)options.MaxConcurrentSequences * lm.Config.MaxPositionEmbeddings,
                MaxQueuedSequences = options.MaxQueuedSequences,
            });
            log.LogInformation("model {Model} loaded: {Layers} layers x {Heads} heads, context {Context}", lm.Id, lm.Config.NumLayers,
                lm.Config.NumHeads, lm.Config.MaxPositionEmbeddings);
        }
        catch (Exception e)
        {
            failure = e;
            log.LogError(e, "loading {Model} failed", options.Model);
        }
    }, stoppingToken);

    public void Record(int generated, double firstTokenMs)
    {
        tokens.Add(generated);
        if (generated > 0) firstToken.Record(firstTokenMs);
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(scheduler is not null ? HealthCheckResult.Healthy("model loaded")
            : failure is not null ? HealthCheckResult.Unhealthy($"model failed to load: {failure.Message}")
            : HealthCheckResult.Unhealthy("model loading"));

    public override void Dispose()
    {
        scheduler?.Dispose();
        base.Dispose();
    }
}
