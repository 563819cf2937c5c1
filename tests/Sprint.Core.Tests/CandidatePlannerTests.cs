namespace Sprint.Core.Tests;

/// <summary>The planner without a model: an in-memory selector table stands in for the upstream services.</summary>
public sealed class CandidatePlannerTests
{
    const string Question = "Mia has 3 apples and buys 4 more. How many apples does Mia have?";
    static readonly ModelShape Shape = new(4, 8);

    /// <summary>A selector that ranks configurations by a fixed table; <c>null</c> ranking: no selector.</summary>
    sealed class TableSources(IReadOnlyList<ScoredConfig>? ranking = null) : IPlanSources
    {
        public List<string> Asked { get; } = [];
        public ValueTask<ModelShape> ShapeAsync(CancellationToken ct) => ValueTask.FromResult(Shape);
        public ValueTask<int> SelectorConfigurationsAsync(CancellationToken ct) => ValueTask.FromResult(Ranking.Count);
        public ValueTask<IReadOnlyList<ScoredConfig>> SelectAsync(string question, int k, CancellationToken ct)
        {
            Asked.Add(question);
            return ValueTask.FromResult<IReadOnlyList<ScoredConfig>>(Ranking.Take(k).ToList());
        }
        public ValueTask<IReadOnlyList<HeadConfig>> GlobalRankingAsync(CancellationToken ct) =>
            ValueTask.FromResult<IReadOnlyList<HeadConfig>>(Ranking.Select(r => r.Config).Reverse().ToList());
        IReadOnlyList<ScoredConfig> Ranking => ranking ?? throw new FailedPreconditionException("no selector");
    }

    static readonly IReadOnlyList<ScoredConfig> Table =
        HeadConfig.All(Shape).Select((c, i) => new ScoredConfig(c, 10f - i * 0.25f)).ToList();

    static Task<CandidatePlan> Plan(Strategy strategy, int n = 8, ulong seed = 1, double? temperature = null, string question = Question, IPlanSources? sources = null) =>
        CandidatePlanner.PlanAsync(new PlanRequest(question, n, strategy, seed, temperature), sources ?? new TableSources(Table));

    [Fact]
    public async Task Sprint_takes_the_selectors_top_n_with_their_scores_sampled_as_the_paper_does()
    {
        var sources = new TableSources(Table);
        var plan = await Plan(Strategy.Sprint, 5, sources: sources);
        Assert.Equal(Table.Take(5).Select(t => t.Config), plan.Candidates.Select(c => c.Config));
        Assert.Equal(Table.Take(5).Select(t => t.Score), plan.Candidates.Select(c => c.Score));
        Assert.Equal([0, 1, 2, 3, 4], plan.Candidates.Select(c => c.Index));
        Assert.All(plan.Candidates, c => Assert.Equal((0.9, 40, 0.95), (c.Sampling.Temperature, c.Sampling.TopK, c.Sampling.TopP)));
        Assert.Equal(5, plan.Candidates.Select(c => c.Sampling.Seed).Distinct().Count());
        Assert.Equal([Question], sources.Asked);   // asked with the trimmed question
        // Temperature 0 decodes them greedily.
        var greedy = await Plan(Strategy.Sprint, 5, sources: sources, temperature: 0);
        Assert.All(greedy.Candidates, c => Assert.True(c.Sampling.IsGreedy));
    }

    [Fact]
    public async Task Sampling_samples_unpruned_at_the_default_temperature_with_derived_seeds()
    {
        var plan = await Plan(Strategy.Sampling, 4, seed: 9);
        Assert.All(plan.Candidates, c => Assert.Equal(HeadConfig.Unpruned, c.Config));
        Assert.All(plan.Candidates, c => Assert.Equal(Defaults.SamplingTemperature, c.Sampling.Temperature));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => (ulong?)StableSeed.Derive(9, "sample", Question, i)), plan.Candidates.Select(c => c.Sampling.Seed));
        Assert.Equal(4, plan.Candidates.Select(c => c.Sampling.Seed).Distinct().Count());
        var hot = await Plan(Strategy.Sampling, 2, temperature: 1.3);
        Assert.All(hot.Candidates, c => Assert.Equal(1.3, c.Sampling.Temperature));
    }

    [Fact]
    public async Task Random_heads_are_distinct_pruned_heads_in_an_order_drawn_from_seed_and_question()
    {
        var plan = await Plan(Strategy.RandomHeads, 32, seed: 3);
        var heads = plan.Candidates.Select(c => c.Config.Head!.Value).ToList();
        Assert.Equal(32, heads.Distinct().Count());
        Assert.All(heads, h => h.Validate(Shape));
        Assert.All(plan.Candidates, c => Assert.True(c.Sampling.IsGreedy));

        var again = await Plan(Strategy.RandomHeads, 32, seed: 3);
        var otherSeed = await Plan(Strategy.RandomHeads, 32, seed: 4);
        var otherQuestion = await Plan(Strategy.RandomHeads, 32, seed: 3, question: "What is 6 × 7?");
        Assert.Equal(plan.Candidates.Select(c => c.Config), again.Candidates.Select(c => c.Config));
        Assert.NotEqual(plan.Candidates.Select(c => c.Config), otherSeed.Candidates.Select(c => c.Config));
        Assert.NotEqual(plan.Candidates.Select(c => c.Config), otherQuestion.Candidates.Select(c => c.Config));
        // Not the layer-major order: the shuffle happened.
        Assert.NotEqual(HeadConfig.All(Shape).Skip(1), plan.Candidates.Select(c => c.Config));
        // Whitespace around the question does not change the draw (the gateway trims it).
        var padded = await Plan(Strategy.RandomHeads, 32, seed: 3, question: "  " + Question + "\n");
        Assert.Equal(plan.Candidates.Select(c => c.Config), padded.Candidates.Select(c => c.Config));
    }

    [Fact]
    public async Task Random_heads_follow_the_documented_derivation()
    {
        var heads = HeadConfig.All(Shape).Skip(1).ToList();
        StableSeed.Stream(3, "random_heads", Question).Shuffle(heads);
        Assert.Equal(heads.Take(5), (await Plan(Strategy.RandomHeads, 5, seed: 3)).Candidates.Select(c => c.Config));
    }

    [Fact]
    public async Task Global_top_is_the_global_ranking_whatever_the_question()
    {
        var plan = await Plan(Strategy.GlobalTop, 3);
        Assert.Equal(Table.Select(t => t.Config).Reverse().Take(3), plan.Candidates.Select(c => c.Config));
        var other = await Plan(Strategy.GlobalTop, 3, question: "What is 6 × 7?");
        Assert.Equal(plan.Candidates, other.Candidates.Select((c, i) => c with { Sampling = plan.Candidates[i].Sampling }));
    }

    [Fact]
    public async Task Greedy_plans_one_unpruned_candidate_whatever_n()
    {
        var plan = await Plan(Strategy.Greedy, 8);
        var only = Assert.Single(plan.Candidates);
        Assert.Equal(HeadConfig.Unpruned, only.Config);
        Assert.True(only.Sampling.IsGreedy);
    }

    [Theory]
    [InlineData(Strategy.Sprint)]
    [InlineData(Strategy.Sampling)]
    [InlineData(Strategy.RandomHeads)]
    [InlineData(Strategy.GlobalTop)]
    public async Task A_plan_for_n_is_the_first_n_of_a_larger_plan(Strategy strategy)
    {
        var large = await Plan(strategy, 16, seed: 77);
        for (int n = 1; n <= 16; n *= 2)
            Assert.Equal(large.Candidates.Take(n), (await Plan(strategy, n, seed: 77)).Candidates);
    }

    [Fact]
    public async Task Too_many_candidates_name_n()
    {
        var heads = await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.RandomHeads, 33));
        Assert.Equal("n: random_heads has 32 pruned heads to choose from, got 33", heads.Message);
        var sprint = await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.Sprint, 34));
        Assert.Equal("n: more candidates than the selector has configurations (33), got 34", sprint.Message);
        Assert.Equal(32, (await Plan(Strategy.RandomHeads, 32)).Candidates.Count);   // the limits are inclusive
        Assert.Equal(33, (await Plan(Strategy.Sprint, 33)).Candidates.Count);
        Assert.Equal(33, (await Plan(Strategy.GlobalTop, 33)).Candidates.Count);
        Assert.Equal("n: must be at least 1, got 0", (await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.Greedy, 0))).Message);
        Assert.Equal("n", (await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.GlobalTop, 34))).Field);
        Assert.Equal("n", (await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.Sampling, 0))).Field);
        Assert.Equal("temperature", (await Assert.ThrowsAsync<InvalidFieldException>(() => Plan(Strategy.Sampling, 2, temperature: 1e-40))).Field);
    }

    [Fact]
    public async Task An_unknown_strategy_names_the_field_and_a_short_selector_answer_is_a_bug_not_a_plan()
    {
        Assert.Equal("strategy: unknown strategy 99", (await Assert.ThrowsAsync<InvalidFieldException>(() => Plan((Strategy)99))).Message);
        var short_ = new ShortSources(Table);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Plan(Strategy.Sprint, 4, sources: short_));
        Assert.Equal("sprint planned 3 candidates for n = 4", e.Message);
    }

    /// <summary>A selector that answers one configuration fewer than asked.</summary>
    sealed class ShortSources(IReadOnlyList<ScoredConfig> ranking) : IPlanSources
    {
        public ValueTask<ModelShape> ShapeAsync(CancellationToken ct) => ValueTask.FromResult(Shape);
        public ValueTask<int> SelectorConfigurationsAsync(CancellationToken ct) => ValueTask.FromResult(ranking.Count);
        public ValueTask<IReadOnlyList<ScoredConfig>> SelectAsync(string question, int k, CancellationToken ct) =>
            ValueTask.FromResult<IReadOnlyList<ScoredConfig>>(ranking.Take(k - 1).ToList());
        public ValueTask<IReadOnlyList<HeadConfig>> GlobalRankingAsync(CancellationToken ct) =>
            ValueTask.FromResult<IReadOnlyList<HeadConfig>>(ranking.Select(r => r.Config).ToList());
    }

    [Fact]
    public async Task Without_a_selector_only_sprint_and_global_top_fail_and_say_so()
    {
        var none = new TableSources();
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Plan(Strategy.Sprint, sources: none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Plan(Strategy.GlobalTop, sources: none));
        Assert.Equal(8, (await Plan(Strategy.Sampling, sources: none)).Candidates.Count);
        Assert.Equal(8, (await Plan(Strategy.RandomHeads, sources: none)).Candidates.Count);
        Assert.Single((await Plan(Strategy.Greedy, sources: none)).Candidates);
    }
}
