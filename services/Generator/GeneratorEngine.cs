using System.Diagnostics;
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
    readonly Histogram<double> firstToken, perOutputToken, requestDuration, queueDuration, prefillDuration, decodeDuration;
    readonly Histogram<int> batchSize;

    /// <summary>The generator's spans: each sequence's queue wait, prefill and decode under the call's server span.</summary>
    static readonly ActivitySource Traces = new("Sprint.Generator");

    public GeneratorEngine(GeneratorOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<GeneratorEngine> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        var meter = meters.Create("Sprint.Generator");
        // Names and buckets of the OpenTelemetry GenAI semantic conventions where they define one (gen_ai.server.*).
        tokens = meter.CreateCounter<long>("sprint.generator.tokens", "{token}",
            "Tokens per sequence, by gen_ai.token.type: input (its prompt; a group's shared prompt counts for each candidate) or output (generated)");
        firstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time from a sequence's request to its first token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });
        perOutputToken = meter.CreateHistogram("gen_ai.server.time_per_output_token", "s", "A sequence's mean time per output token after the first (inter-token latency)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] });
        requestDuration = meter.CreateHistogram("gen_ai.server.request.duration", "s", "Time from a sequence's request to its last token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        // Each sequence's stages as the scheduler saw them (vLLM's request queue, prefill and decode times).
        InstrumentAdvice<double> stageBuckets = new() { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0] };
        queueDuration = meter.CreateHistogram("sprint.generator.sequence.queue_duration", "s", "Time a sequence waited for a batch row", advice: stageBuckets);
        prefillDuration = meter.CreateHistogram("sprint.generator.sequence.prefill_duration", "s", "A sequence's prompt pass and first token", advice: stageBuckets);
        decodeDuration = meter.CreateHistogram("sprint.generator.sequence.decode_duration", "s", "A sequence's time from its first token to its last", advice: stageBuckets);
        batchSize = meter.CreateHistogram("sprint.generator.batch_size", "{sequence}", "Rows decoded by each decode step",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
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
        var lm = options.Load(catalog, RepositoryPaths.Resolve);
        var scheduler = new BatchScheduler(lm, new EngineOptions
        {
            MaxConcurrentSequences = options.MaxConcurrentSequences,
            MaxBatchTokens = options.MaxBatchTokens > 0 ? options.MaxBatchTokens : (long)options.MaxConcurrentSequences * lm.Config.MaxPositionEmbeddings,
            MaxQueuedSequences = options.MaxQueuedSequences,
        });
        scheduler.Stepped += rows => batchSize.Record(rows);
        log.LogInformation("model {Model} loaded: {Layers} layers x {Heads} heads, context {Context}", lm.Id, lm.Config.NumLayers,
            lm.Config.NumHeads, lm.Config.MaxPositionEmbeddings);
        return scheduler;
    }

    /// <summary>
    /// A finished sequence: its tokens, latencies, stage durations and, under the current (server) span, a span per stage —
    /// sprint.generator.queue, .prefill (prompt pass and first token) and .decode — at the times the scheduler saw them.
    /// </summary>
    public void Finished(GenerationRequest generation, int? candidate, int generated, double firstTokenMs, double totalMs, SequenceTimes? times)
    {
        string model = Scheduler?.Model.Id ?? "";
        var modelTag = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        tokens.Add(generation.PromptIds.Count, modelTag, new("gen_ai.token.type", "input"));
        tokens.Add(generated, modelTag, new("gen_ai.token.type", "output"));
        requestDuration.Record(totalMs / 1000, modelTag);
        if (generated > 0) firstToken.Record(firstTokenMs / 1000, modelTag);
        if (generated > 1) perOutputToken.Record((totalMs - firstTokenMs) / 1000 / (generated - 1), modelTag);
        if (times is null) return;
        queueDuration.Record(times.Queued.TotalSeconds, modelTag);
        if (times.FirstToken != 0)
        {
            prefillDuration.Record(times.Prefill.TotalSeconds, modelTag);
            decodeDuration.Record(times.Decode.TotalSeconds, modelTag);
        }
        if (Activity.Current is null) return;
        (DateTime now, long nowTimestamp) = (DateTime.UtcNow, Stopwatch.GetTimestamp());   // one clock reading for all three spans
        DateTime At(long timestamp) => now - Stopwatch.GetElapsedTime(timestamp, nowTimestamp);
        void Span(string name, long start, long end, params (string Key, object? Value)[] tags)
        {
            using var span = Traces.StartActivity(name, ActivityKind.Internal, parentContext: default, startTime: At(start));
            if (span is null) return;
            if (candidate is int index) span.SetTag("sprint.candidate.index", index);
            span.SetTag("sprint.configuration", generation.PrunedHeads.Count == 0 ? Core.HeadConfig.UnprunedName : string.Join(",", generation.PrunedHeads));
            foreach (var (key, value) in tags) span.SetTag(key, value);
            span.SetEndTime(At(end));
        }
        bool scheduled = times.Scheduled != 0;
        Span("sprint.generator.queue", times.Submitted, scheduled ? times.Scheduled : times.Finished);
        if (!scheduled || times.FirstToken == 0) return;
        Span("sprint.generator.prefill", times.Scheduled, times.FirstToken, ("gen_ai.usage.input_tokens", generation.PromptIds.Count));
        Span("sprint.generator.decode", times.FirstToken, times.Finished, ("gen_ai.usage.output_tokens", generated));
    }
}
