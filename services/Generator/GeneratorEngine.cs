using System.Diagnostics.Metrics;
using Sprint.Inference;
using Sprint.Inference.Generation;
using Sprint.ServiceDefaults;

namespace Sprint.Generator;

/// <summary>The model, loaded in the background, and the batch scheduler that every Generate call of this replica shares.</summary>
public sealed class GeneratorEngine : LoadedInBackground<BatchScheduler>
{
    readonly GeneratorOptions options;
    readonly ModelCatalog catalog;
    readonly ILogger<GeneratorEngine> log;
    readonly Counter<long> tokens;
    readonly Histogram<double> firstToken;

    public GeneratorEngine(GeneratorOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<GeneratorEngine> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        var meter = meters.Create("Sprint.Generator");
        tokens = meter.CreateCounter<long>("sprint.generator.tokens", description: "Tokens generated");
        firstToken = meter.CreateHistogram<double>("sprint.generator.time_to_first_token", "ms", "Time from a sequence's submission to its first token");
        meter.CreateObservableGauge("sprint.generator.active_sequences", () => Scheduler?.Stats.ActiveSequences ?? 0, "{sequence}", "Sequences decoding (rows of the batch)");
        meter.CreateObservableGauge("sprint.generator.queued_sequences", () => Scheduler?.Stats.QueuedSequences ?? 0, "{sequence}", "Sequences waiting for a batch row");
        meter.CreateObservableCounter("sprint.generator.steps", () => Scheduler?.Stats.Steps ?? 0, "{step}", "Decode steps of the batch");
        meter.CreateObservableCounter("sprint.generator.decode_time", () => Scheduler?.Stats.Decoding.TotalSeconds ?? 0, "s", "Decode thread time spent in decode steps");
        meter.CreateObservableCounter("sprint.generator.prefill_time", () => Scheduler?.Stats.Joining.TotalSeconds ?? 0, "s", "Decode thread time spent prefilling joining sequences");
    }

    /// <summary>Null while loading (or when loading failed).</summary>
    public BatchScheduler? Scheduler => Value;
    public GeneratorOptions Options => options;

    protected override string What => "the model";

    protected override BatchScheduler Load()
    {
        TorchThreads.Configure(options.Threads);
        var lm = catalog.Get(RepositoryPaths.Resolve(options.Model), LanguageModel.ParseDType(options.DType), LanguageModel.ParseLoadFormat(options.LoadFormat));
        if (lm.Tokenizer is null) throw new InvalidOperationException($"{options.Model} has no tokenizer files");
        var scheduler = new BatchScheduler(lm, new EngineOptions
        {
            MaxConcurrentSequences = options.MaxConcurrentSequences,
            MaxBatchTokens = options.MaxBatchTokens > 0 ? options.MaxBatchTokens : (long)options.MaxConcurrentSequences * lm.Config.MaxPositionEmbeddings,
            MaxQueuedSequences = options.MaxQueuedSequences,
        });
        log.LogInformation("model {Model} loaded: {Layers} layers x {Heads} heads, context {Context}", lm.Id, lm.Config.NumLayers,
            lm.Config.NumHeads, lm.Config.MaxPositionEmbeddings);
        return scheduler;
    }

    public void Record(int generated, double firstTokenMs)
    {
        tokens.Add(generated);
        if (generated > 0) firstToken.Record(firstTokenMs);
    }
}
