using System.Collections.Concurrent;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Inference.Generation;
using Sprint.Problems;
using Sprint.Pipeline.Selection;

namespace Sprint.Pipeline.Evaluation;

public sealed record BestOfNSettings
{
    public required IReadOnlyList<Strategy> Strategies { get; init; }
    public required int MaxN { get; init; }
    /// <summary>Temperature of the sampling strategy.</summary>
    public double Temperature { get; init; } = Defaults.SamplingTemperature;
    /// <summary>Temperature of the pruned strategies (sprint, random_heads, global_top); null: each strategy's default, as Solve's.</summary>
    public double? PrunedTemperature { get; init; }
    /// <summary>Top-k and top-p of every sampled candidate (0 and 1 disable them); null: each strategy's default, as Solve's.</summary>
    public int? TopK { get; init; }
    public double? TopP { get; init; }
    /// <summary>Every random choice derives from it (<see cref="StableSeed"/>): samples, random heads, the bootstrap.</summary>
    public ulong Seed { get; init; } = 1;
    public EvalSettings Decoding { get; init; } = new();
}

/// <summary>A question's candidates under one strategy, in the strategy's order (the first n are its best-of-n).</summary>
public sealed record QuestionResult(Problem Problem, Strategy Strategy, IReadOnlyList<DecodedCandidate> Candidates);

/// <summary>
/// Decodes, for every question and strategy, the plan of <see cref="CandidatePlanner"/> for <c>MaxN</c> candidates
/// — the same code and seeds the gateway's Solve uses, so a Solve with the same question, n, strategy and seed
/// decodes the same candidates. Best-of-n for smaller n uses the first n of them (a plan for n is a prefix of the
/// plan for MaxN). Greedy decodes of the same (question, configuration) are shared between strategies. The
/// selector and the question's embedding are answered in process (<see cref="EvaluationPlanSources"/>).
/// </summary>
public sealed class BestOfNEvaluator(LanguageModel lm, SelectorArtifact? selector, BestOfNSettings settings, TextWriter log)
{
    /// <param name="done">Results already decoded (a resumed run's log): questions with every strategy there are not decoded again.</param>
    /// <param name="chunkDone">Called with each chunk's new results as it finishes (the candidate log).</param>
    public async Task<IReadOnlyList<QuestionResult>> RunAsync(IReadOnlyList<Problem> problems, CancellationToken ct,
        IReadOnlyDictionary<(string Id, Strategy Strategy), QuestionResult>? done = null, Action<IReadOnlyList<QuestionResult>>? chunkDone = null)
    {
        done ??= new Dictionary<(string, Strategy), QuestionResult>();
        bool Done(Problem p) => settings.Strategies.All(s => done.ContainsKey((p.Id, s)));
        var previous = problems.Where(Done).SelectMany(p => settings.Strategies.Select(s => done[(p.Id, s)])).ToList();
        if (previous.Count > 0) log.WriteLine($"  {previous.Count / settings.Strategies.Count} questions read from the candidate log");
        var results = await DecodeAsync(problems.Where(p => !Done(p)).ToList(), chunkDone, ct).ConfigureAwait(false);
        var byKey = previous.Concat(results).ToDictionary(r => (r.Problem.Id, r.Strategy));
        return problems.SelectMany(p => settings.Strategies.Select(s => byKey[(p.Id, s)])).ToList();
    }

    async Task<IReadOnlyList<QuestionResult>> DecodeAsync(IReadOnlyList<Problem> problems, Action<IReadOnlyList<QuestionResult>>? chunkDone, CancellationToken ct)
    {
        if (problems.Count == 0) return [];
        if (lm.Tokenizer is null) throw new ArgumentException($"{lm.Directory} has no tokenizer");
        if (settings.Strategies.Any(s => s.NeedsSelector()) && selector is null)
            throw new ArgumentException("strategies sprint and global_top need a selector (--selector)");
        // Only sprint ranks per question; global_top reads the selector's ranking and needs no embeddings.
        var encoder = settings.Strategies.Contains(Strategy.Sprint) ? new QuestionEncoder(lm, settings.Decoding.SystemPrompt) : null;
        if (encoder is not null && selector!.Metadata.EncoderId != encoder.EncoderId)
            throw new ArgumentException($"the selector was trained on encoder '{selector.Metadata.EncoderId}', this model gives '{encoder.EncoderId}'");

        using var engine = new BatchScheduler(lm, settings.Decoding.EngineOptions(lm));
        var results = new List<QuestionResult>();
        int perQuestion = settings.Strategies.Sum(s => s == Strategy.Greedy ? 1 : settings.MaxN);
        await ChunkedRun.RunAsync(problems, perQuestion, settings.Decoding.BatchSize, engine, log, async chunk =>
        {
            var sources = new EvaluationPlanSources(lm, selector, encoder, chunk.Select(p => p.Question).ToList());
            var greedyCache = new ConcurrentDictionary<(Problem, string), Task<DecodedCandidate>>();
            var tasks = new List<Task<QuestionResult>>();
            foreach (var problem in chunk)
            {
                var prompt = CandidateDecoder.Prompt(lm, problem, settings.Decoding);
                foreach (var strategy in settings.Strategies)
                {
                    var plan = await PlanAsync(problem, strategy, sources, ct).ConfigureAwait(false);
                    var candidates = plan.Candidates.Select(c => c.Sampling.IsGreedy
                        ? greedyCache.GetOrAdd((problem, c.Config.Name), _ => Decode(engine, prompt, problem, c.Config, SamplingParams.Greedy, ct))
                        : Decode(engine, prompt, problem, c.Config, c.Sampling, ct)).ToList();
                    tasks.Add(Task.WhenAll(candidates).ContinueWith(t => new QuestionResult(problem, strategy, t.Result), ct,
                        TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default));
                }
            }
            return Collect(Task.WhenAll(tasks));
        }, ct).ConfigureAwait(false);

        async Task Collect(Task<QuestionResult[]> chunk)
        {
            var chunkResults = await chunk.ConfigureAwait(false);
            chunkDone?.Invoke(chunkResults);
            results.AddRange(chunkResults);
        }
        return results;
    }

    /// <summary>The candidates a strategy decodes for a question: what a Solve with the same question, n = MaxN, strategy and seed plans.</summary>
    public Task<CandidatePlan> PlanAsync(Problem problem, Strategy strategy, IPlanSources sources, CancellationToken ct = default) =>
        CandidatePlanner.PlanAsync(new PlanRequest(problem.Question, settings.MaxN, strategy, settings.Seed,
            strategy == Strategy.Sampling ? settings.Temperature : settings.PrunedTemperature, settings.TopP, settings.TopK), sources, ct);

    async Task<DecodedCandidate> Decode(BatchScheduler engine, IReadOnlyList<int> prompt, Problem problem, HeadConfig config, SamplingParams sampling, CancellationToken ct) =>
        (await CandidateDecoder.DecodeAsync(engine, lm, prompt, problem, config, sampling, settings.Decoding, ct)).Candidate;
}

/// <summary>
/// <see cref="IPlanSources"/> in process: the model's shape, the selector artifact, and the question embeddings of
/// one chunk of questions encoded together (the gateway asks the same of its upstream services).
/// </summary>
public sealed class EvaluationPlanSources : IPlanSources
{
    readonly LanguageModel lm;
    readonly SelectorArtifact? selector;
    readonly Dictionary<string, float[]> embeddings = [];

    /// <param name="encoder">Null when no strategy needs the selector's per-question ranking (only sprint does).</param>
    public EvaluationPlanSources(LanguageModel lm, SelectorArtifact? selector, QuestionEncoder? encoder, IReadOnlyList<string> questions)
    {
        this.lm = lm;
        this.selector = selector;
        if (encoder is null) return;
        var keys = questions.Select(q => q.Trim()).Distinct().ToList();
        var vectors = encoder.Encode(keys);
        for (int i = 0; i < keys.Count; i++) embeddings[keys[i]] = vectors[i];
    }

    public ValueTask<ModelShape> ShapeAsync(CancellationToken ct) => ValueTask.FromResult(lm.Config.Shape);

    public ValueTask<int> SelectorConfigurationsAsync(CancellationToken ct) => ValueTask.FromResult(Selector.Metadata.Configs.Count);

    public ValueTask<IReadOnlyList<ScoredConfig>> SelectAsync(string question, int k, CancellationToken ct)
    {
        var meta = Selector.Metadata;
        if (!embeddings.TryGetValue(question, out var vector)) throw new InvalidOperationException("question not encoded for this chunk");
        IReadOnlyList<ScoredConfig> top = Selector.Rank(vector).Take(k).Select(r => new ScoredConfig(HeadConfig.Parse(meta.Configs[r.Index]), r.Score)).ToList();
        return ValueTask.FromResult(top);
    }

    public ValueTask<IReadOnlyList<HeadConfig>> GlobalRankingAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<HeadConfig>>(Selector.Metadata.GlobalRanking.Select(HeadConfig.Parse).ToList());

    SelectorArtifact Selector => selector ?? throw new FailedPreconditionException("strategies sprint and global_top need a selector (--selector)");
}
