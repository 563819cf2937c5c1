using System.Diagnostics.Metrics;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.ServiceDefaults;

namespace Sprint.Embedding;

/// <summary>
/// The question encoder, loaded in the background at start-up, behind a dynamic batcher (as text-embeddings-inference
/// does): the texts of concurrent cache misses are encoded together. The first waiting text starts a batch; the
/// batch takes whatever else arrives within <see cref="EmbeddingOptions.BatchWait"/>, up to
/// <see cref="EmbeddingOptions.MaxBatch"/> texts. One batch runs at a time; vectors do not depend on their batch
/// neighbours (mean pooling over each text's own tokens).
/// </summary>
public sealed class EmbeddingEncoder : LoadedInBackground<QuestionEncoder>
{
    readonly EmbeddingOptions options;
    readonly ModelCatalog catalog;
    readonly ILogger<EmbeddingEncoder> log;
    readonly Histogram<int> batchSizes;
    /// <summary>Embed calls by cache outcome (the "Sprint.Embedding" meter, with the batch sizes).</summary>
    public Counter<long> CacheLookups { get; }
    readonly DynamicBatcher<(QuestionEncoder Encoder, string Text), float[]> batcher;

    public EmbeddingEncoder(EmbeddingOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<EmbeddingEncoder> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        var meter = meters.Create("Sprint.Embedding");
        batchSizes = meter.CreateHistogram<int>("sprint.embedding.batch_size", "{text}", "Texts encoded together");
        CacheLookups = meter.CreateCounter<long>("sprint.embedding.cache_lookups", "{lookup}", "Embed calls by cache outcome: hit, miss, or bypassed (Redis down)");
        batcher = new(options.BatchWait, options.MaxBatch, EncodeBatch);
    }

    /// <summary>Batches encoded since start (for tests and metrics).</summary>
    public int Batches => batches;
    int batches;

    protected override string What => "the encoder";

    protected override QuestionEncoder Load()
    {
        var encoder = new QuestionEncoder(options.Load(catalog, RepositoryPaths.Resolve), options.SystemTurn);
        log.LogInformation("encoder {Encoder} ready ({Dim} dimensions)", encoder.EncoderId, encoder.Dimension);
        return encoder;
    }

    /// <summary>The text's vector, encoded in a batch with the other texts waiting now.</summary>
    public Task<float[]> EncodeAsync(QuestionEncoder loaded, string text, CancellationToken ct) => batcher.RunAsync((loaded, text), ct);

    /// <summary>One batch: each distinct text encoded once.</summary>
    IReadOnlyList<float[]> EncodeBatch(IReadOnlyList<(QuestionEncoder Encoder, string Text)> items)
    {
        var texts = items.Select(i => i.Text).Distinct().ToList();
        var vectors = items[0].Encoder.Encode(texts);
        Interlocked.Increment(ref batches);
        batchSizes.Record(texts.Count);
        return items.Select(i => vectors[texts.IndexOf(i.Text)]).ToList();
    }

    public override void Dispose()
    {
        batcher.Dispose();
        base.Dispose();
    }
}
