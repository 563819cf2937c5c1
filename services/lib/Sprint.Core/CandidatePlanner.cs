namespace Sprint.Core;

/// <summary>What to plan: a question, how many candidates, which strategy, and the seed every random choice derives from.</summary>
/// <param name="Temperature">Null: the strategy's default (<see cref="Defaults"/>: 0.7 for sampling, 0.9 for sprint, 0 — greedy — for the others).</param>
/// <param name="TopP">Nucleus filtering of sampled candidates (1 disables it); null: 0.95 for sprint, 1 for the others.</param>
/// <param name="TopK">Top-k filtering of sampled candidates (0 disables it); null: 40 for sprint, 0 for the others.</param>
public sealed record PlanRequest(string Question, int N, Strategy Strategy, ulong Seed, double? Temperature = null, double? TopP = null, int? TopK = null);

/// <summary>One entry of a plan: the index, configuration, selector score ("sprint" only) and sampling of a candidate to decode.</summary>
public sealed record PlanEntry(int Index, HeadConfig Config, float Score, SamplingParams Sampling);

/// <summary>A question's candidates, by index.</summary>
public sealed record CandidatePlan(Strategy Strategy, ulong Seed, IReadOnlyList<PlanEntry> Candidates);

/// <summary>A selector's answer for one question: configurations best first with their scores.</summary>
public sealed record ScoredConfig(HeadConfig Config, float Score);

/// <summary>
/// What the planner needs to know beyond the request. The gateway answers from its upstream services
/// (ModelInfo, Embed + Select, SelectorInfo); the offline evaluator from the model and the selector artifact in
/// process. A source without a selector throws <see cref="FailedPreconditionException"/> from the selector methods.
/// </summary>
public interface IPlanSources
{
    /// <summary>The decoding model's shape (random_heads draws from its heads).</summary>
    ValueTask<ModelShape> ShapeAsync(CancellationToken ct);
    /// <summary>How many configurations the selector scores (sprint and global_top cannot plan more).</summary>
    ValueTask<int> SelectorConfigurationsAsync(CancellationToken ct);
    /// <summary>The selector's k best configurations for the question, best first.</summary>
    ValueTask<IReadOnlyList<ScoredConfig>> SelectAsync(string question, int k, CancellationToken ct);
    /// <summary>Configurations by how many training questions they solved, best first.</summary>
    ValueTask<IReadOnlyList<HeadConfig>> GlobalRankingAsync(CancellationToken ct);
}

/// <summary>
/// The one implementation of the strategies, used by the gateway's Solve and by <c>sprint eval</c>, so the
/// evaluation measures exactly what is served: the same (question, n, strategy, seed, temperature) gives the same
/// plan in both (a test says so).
/// <list type="bullet">
/// <item><c>sprint</c>: the selector's top n configurations for the question, sampled as the paper's authors sample
/// them (temperature 0.9, top-k 40, top-p 0.95) unless the request says otherwise.</item>
/// <item><c>sampling</c>: n unpruned candidates at the temperature (default <see cref="Defaults.SamplingTemperature"/>).</item>
/// <item><c>random_heads</c>: the first n of all pruned heads shuffled by <c>StableSeed.Stream(seed, "random_heads", question)</c>.</item>
/// <item><c>global_top</c>: the first n of the selector's global ranking.</item>
/// <item><c>greedy</c>: one unpruned candidate, whatever n.</item>
/// </list>
/// Candidate i samples with seed <c>StableSeed.Derive(seed, "sample", question, i)</c> (used only when its temperature is
/// above 0). A plan for n is the first n candidates of the plan for any larger n, so best-of-n for every n can be read
/// off one plan.
/// </summary>
public static class CandidatePlanner
{
    public static async Task<CandidatePlan> PlanAsync(PlanRequest request, IPlanSources sources, CancellationToken ct = default)
    {
        if (request.N < 1) throw new InvalidFieldException("n", $"must be at least 1, got {request.N}");
        var question = request.Question.Trim();
        double temperature = request.Temperature ?? request.Strategy switch
        {
            Strategy.Sampling => Defaults.SamplingTemperature,
            Strategy.Sprint => Defaults.SprintTemperature,
            _ => 0,
        };
        double topP = request.TopP ?? (request.Strategy == Strategy.Sprint ? Defaults.SprintTopP : 1.0);
        int topK = request.TopK ?? (request.Strategy == Strategy.Sprint ? Defaults.SprintTopK : 0);
        int n = request.N;

        IReadOnlyList<ScoredConfig> configs;
        switch (request.Strategy)
        {
            case Strategy.Sprint:
                await CheckSelectorCanPlan(n, sources, ct).ConfigureAwait(false);
                configs = await sources.SelectAsync(question, n, ct).ConfigureAwait(false);
                break;
            case Strategy.GlobalTop:
                await CheckSelectorCanPlan(n, sources, ct).ConfigureAwait(false);
                configs = (await sources.GlobalRankingAsync(ct).ConfigureAwait(false)).Take(n).Select(c => new ScoredConfig(c, 0)).ToList();
                break;
            case Strategy.RandomHeads:
                var shape = await sources.ShapeAsync(ct).ConfigureAwait(false);
                if (n > shape.PrunableHeads)
                    throw new InvalidFieldException("n", $"random_heads has {shape.PrunableHeads} pruned heads to choose from, got {n}");
                var heads = HeadConfig.All(shape).Skip(1).ToList();
                StableSeed.Stream(request.Seed, "random_heads", question).Shuffle(heads);
                configs = heads.Take(n).Select(c => new ScoredConfig(c, 0)).ToList();
                break;
            case Strategy.Sampling:
                configs = Enumerable.Repeat(new ScoredConfig(HeadConfig.Unpruned, 0), n).ToList();
                break;
            case Strategy.Greedy:
                configs = [new ScoredConfig(HeadConfig.Unpruned, 0)];
                break;
            default:
                throw new InvalidFieldException("strategy", $"unknown strategy {(int)request.Strategy}");
        }
        if (configs.Count != (request.Strategy == Strategy.Greedy ? 1 : n))
            throw new InvalidOperationException($"{request.Strategy.Name()} planned {configs.Count} candidates for n = {n}");

        var candidates = configs.Select((c, i) => new PlanEntry(i, c.Config, c.Score, new SamplingParams
        {
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            Seed = StableSeed.Derive(request.Seed, "sample", question, i),
        }.Validate())).ToList();
        return new CandidatePlan(request.Strategy, request.Seed, candidates);
    }

    static async Task CheckSelectorCanPlan(int n, IPlanSources sources, CancellationToken ct)
    {
        int count = await sources.SelectorConfigurationsAsync(ct).ConfigureAwait(false);
        if (n > count) throw new InvalidFieldException("n", $"more candidates than the selector has configurations ({count}), got {n}");
    }
}
