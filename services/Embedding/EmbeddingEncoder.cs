using System.Diagnostics.Metrics;
using System.Threading.Channels;
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
    readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    readonly Histogram<int> batchSizes;
    /// <summary>Embed calls by cache outcome (the "Sprint.Embedding" meter, with the batch sizes).</summary>
    public Counter<long> CacheLookups { get; }
    readonly Lazy<Task> batcher;

    sealed record Pending(QuestionEncoder Encoder, string Text, TaskCompletionSource<float[]> Vector, CancellationToken Ct);

    public EmbeddingEncoder(EmbeddingOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<EmbeddingEncoder> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        var meter = meters.Create("Sprint.Embedding");
        batchSizes = meter.CreateHistogram<int>("sprint.embedding.batch_size", "{text}", "Texts encoded together");
        CacheLookups = meter.CreateCounter<long>("sprint.embedding.cache_lookups", "{lookup}", "Embed calls by cache outcome: hit, miss, or bypassed (Redis down)");
        batcher = new Lazy<Task>(() => Task.Run(BatchLoopAsync));
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
    public Task<float[]> EncodeAsync(QuestionEncoder loaded, string text, CancellationToken ct)
    {
        var pending = new Pending(loaded, text, new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        if (!queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(EmbeddingEncoder));
        _ = batcher.Value;
        return pending.Vector.Task.WaitAsync(ct);
    }

    async Task BatchLoopAsync()
    {
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new List<Pending>();
            var until = DateTime.UtcNow + options.BatchWait;
            while (batch.Count < Math.Max(1, options.MaxBatch))
            {
                if (reader.TryRead(out var next)) { batch.Add(next); continue; }
                var left = until - DateTime.UtcNow;
                if (batch.Count > 0 && left <= TimeSpan.Zero) break;
                using var wait = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                try { if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false)) break; }
                catch (OperationCanceledException) { break; }
            }
            var live = batch.Where(p => !p.Ct.IsCancellationRequested).ToList();   // callers gone: no work for them
            foreach (var p in batch.Except(live)) p.Vector.TrySetCanceled(p.Ct);
            if (live.Count == 0) continue;
            try
            {
                var texts = live.Select(p => p.Text).Distinct().ToList();
                var vectors = live[0].Encoder.Encode(texts);
                Interlocked.Increment(ref batches);
                batchSizes.Record(texts.Count);
                foreach (var p in live) p.Vector.TrySetResult(vectors[texts.IndexOf(p.Text)]);
            }
            catch (Exception e)
            {
                foreach (var p in live) p.Vector.TrySetException(e);
            }
        }
    }

    public override void Dispose()
    {
        queue.Writer.TryComplete();
        base.Dispose();
    }
}
