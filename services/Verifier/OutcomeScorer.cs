using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Sprint.Inference;
using Sprint.ServiceDefaults;
using Sprint.Verification;

namespace Sprint.Verifier;

/// <summary>
/// The learned outcome verifier, loaded in the background at start-up (optional: without it the service answers
/// step checks only), behind a dynamic batcher across callers: the gateway checks each candidate as it finishes, so
/// the candidates of concurrent Checks are scored together. The first waiting candidate starts a batch; it takes
/// whatever else arrives within <see cref="VerifierOptions.BatchWait"/>, up to <see cref="VerifierOptions.MaxBatch"/>
/// candidates. One batch runs at a time; a candidate's score does not depend on its batch neighbours.
/// </summary>
public sealed class OutcomeScorer : LoadedInBackground<OutcomeVerifier>
{
    readonly VerifierOptions options;
    readonly ModelCatalog catalog;
    readonly ILogger<OutcomeScorer> log;
    readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    readonly Histogram<int> batchSizes;
    readonly Lazy<Task> batcher;
    string? unavailable;

    sealed record Pending(OutcomeVerifier Verifier, string Question, string Text, TaskCompletionSource<float> Score, CancellationToken Ct);

    public OutcomeScorer(VerifierOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<OutcomeScorer> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        batchSizes = meters.Create("Sprint.Verifier").CreateHistogram<int>("sprint.verifier.score_batch_size", "{candidate}", "Candidates scored together by the learned verifier");
        batcher = new Lazy<Task>(() => Task.Run(BatchLoopAsync));
    }

    protected override string What => "the learned verifier";

    public override bool Required => false;

    /// <summary>Why there is no learned verifier (null once loaded, or while loading).</summary>
    public string? Unavailable => Value is not null ? null : unavailable;

    protected override OutcomeVerifier Load()
    {
        try
        {
            if (string.IsNullOrWhiteSpace(options.Model))
                throw new NotProvidedException("no verifier model is configured (Verifier:Model is empty): step checks only.", "");
            var folder = RepositoryPaths.Resolve(options.Model);
            var weights = Path.Combine(folder, VerifierArtifact.WeightsFile);
            if (Directory.Exists(folder) && !File.Exists(weights))
                throw new NotProvidedException($"model '{LanguageModel.IdOf(folder)}' has no learned verifier (sprint train-verifier writes {VerifierArtifact.WeightsFile}): step checks only.", $"({weights} not found)");
            var verifier = OutcomeVerifier.Load(options.Load(catalog, RepositoryPaths.Resolve), weights);
            log.LogInformation("learned verifier {Name} ready (features {Features}; dev AUC {Auc}, ECE {Ece})",
                verifier.Name, verifier.Metadata.FeaturesId, verifier.Metadata.DevAuc, verifier.Metadata.DevEce);
            return verifier;
        }
        catch (NotProvidedException e)
        {
            unavailable = e.ForCallers;
            throw;
        }
        catch (Exception e) when (e is Sprint.Core.LoadException or Sprint.Core.FailedPreconditionException)
        {
            unavailable = $"not loaded at start-up: {e.Message} (step checks only)";
            throw;
        }
        catch (Exception)
        {
            unavailable = "it failed to load (the service's log says why): step checks only";
            throw;
        }
    }

    /// <summary>Each text's score, in a batch with the candidates waiting now (of any call).</summary>
    public Task<float[]> ScoreAsync(OutcomeVerifier loaded, string question, IReadOnlyList<string> texts, CancellationToken ct)
    {
        var pending = texts.Select(t => new Pending(loaded, question, t, new TaskCompletionSource<float>(TaskCreationOptions.RunContinuationsAsynchronously), ct)).ToList();
        foreach (var p in pending)
            if (!queue.Writer.TryWrite(p)) throw new ObjectDisposedException(nameof(OutcomeScorer));
        _ = batcher.Value;
        return Task.WhenAll(pending.Select(p => p.Score.Task)).WaitAsync(ct);
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
            var live = batch.Where(p => !p.Ct.IsCancellationRequested).ToList();   // callers gone (or timed out): no work for them
            foreach (var p in batch.Except(live)) p.Score.TrySetCanceled(p.Ct);
            if (live.Count == 0) continue;
            try
            {
                var scores = live[0].Verifier.Score(live.Select(p => (p.Question, p.Text)).ToList(), Math.Max(1, options.MaxBatch));
                batchSizes.Record(live.Count);
                for (int i = 0; i < live.Count; i++) live[i].Score.TrySetResult(scores[i]);
            }
            catch (Exception e)
            {
                foreach (var p in live) p.Score.TrySetException(e);
            }
        }
    }

    public override void Dispose()
    {
        queue.Writer.TryComplete();
        base.Dispose();
    }
}
