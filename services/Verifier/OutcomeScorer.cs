using System.Diagnostics.Metrics;
using Sprint.Inference;
using Sprint.ServiceDefaults;
using Sprint.Verification;

namespace Sprint.Verifier;

/// <summary>
/// The learned outcome verifier, loaded in the background at start-up (optional: without it the service answers
/// step checks only), behind a dynamic batcher across callers: the gateway checks each candidate as it finishes, so
/// the candidates of concurrent Checks are scored together. The first waiting candidate starts a batch; it takes
/// whatever else arrives within <see cref="VerifierOptions.BatchWait"/>, up to <see cref="VerifierOptions.MaxBatch"/>
/// candidates (<see cref="DynamicBatcher{TItem, TResult}"/>, as the Embedding encoder). One batch runs at a time; a
/// candidate's score does not depend on its batch neighbours.
/// </summary>
public sealed class OutcomeScorer : LoadedInBackground<OutcomeVerifier>
{
    readonly VerifierOptions options;
    readonly ModelCatalog catalog;
    readonly ILogger<OutcomeScorer> log;
    readonly Histogram<int> batchSizes;
    readonly DynamicBatcher<(OutcomeVerifier Verifier, string Question, string Text), float> batcher;

    public OutcomeScorer(VerifierOptions options, ModelCatalog catalog, IMeterFactory meters, ILogger<OutcomeScorer> log) : base(log)
    {
        this.options = options;
        this.catalog = catalog;
        this.log = log;
        batchSizes = meters.Create("Sprint.Verifier").CreateHistogram<int>("sprint.verifier.score_batch_size", "{candidate}", "Candidates scored together by the learned verifier");
        batcher = new(options.BatchWait, options.MaxBatch, ScoreBatch);
    }

    protected override string What => "the learned verifier";

    public override bool Required => false;

    protected override OutcomeVerifier Load()
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

    /// <summary>
    /// Why there is no learned verifier, as <see cref="LoadedInBackground{T}.Require"/> tells callers (loading, absent,
    /// refused; a load error's text, which names server paths, stays in the log); null once loaded.
    /// </summary>
    public string? Unavailable
    {
        get
        {
            try { Require(); return null; }
            catch (Grpc.Core.RpcException e) { return e.Status.Detail; }
            catch (Sprint.Core.FailedPreconditionException e) { return e.Message; }
        }
    }

    /// <summary>Each text's score, in a batch with the candidates waiting now (of any call).</summary>
    public Task<float[]> ScoreAsync(OutcomeVerifier loaded, string question, IReadOnlyList<string> texts, CancellationToken ct) =>
        Task.WhenAll(texts.Select(t => batcher.RunAsync((loaded, question, t), ct)));

    IReadOnlyList<float> ScoreBatch(IReadOnlyList<(OutcomeVerifier Verifier, string Question, string Text)> items)
    {
        var scores = items[0].Verifier.Score(items.Select(i => (i.Question, i.Text)).ToList(), Math.Max(1, options.MaxBatch));
        batchSizes.Record(items.Count);
        return scores;
    }

    public override void Dispose()
    {
        batcher.Dispose();
        base.Dispose();
    }
}
