using Sprint.Contracts.V1;
using Sprint.Pipeline.Evaluation;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Problems;
using Sprint.Pipeline.Selection;
using CoreStrategy = Sprint.Core.Strategy;

namespace Sprint.Services.Tests;

/// <summary>What Solve serves is what sprint eval measures: the same question, n, strategy and seed give the same plan.</summary>
[Collection(SuiteCollection.Name)]
public sealed class PlanEqualityTests(SuiteFixture suite)
{
    [Theory(Timeout = 300_000)]
    [InlineData(CoreStrategy.Sprint)]
    [InlineData(CoreStrategy.Sampling)]
    [InlineData(CoreStrategy.RandomHeads)]
    [InlineData(CoreStrategy.GlobalTop)]
    [InlineData(CoreStrategy.Greedy)]
    public async Task The_gateway_and_the_evaluator_plan_the_same_candidates(CoreStrategy strategy)
    {
        const int n = 6;
        const ulong seed = 21;
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = n, Strategy = strategy.ToProto(), Seed = seed, MaxNewTokens = 4 });
        var served = events.First(e => e.Plan is not null).Plan;

        using var lm = LanguageModel.Load(Paths.Model);
        using var selector = SelectorArtifact.Load(Paths.Selector);
        var evaluator = new BestOfNEvaluator(lm, selector, new BestOfNSettings { Strategies = [strategy], MaxN = n, Seed = seed }, TextWriter.Null);
        var sources = new EvaluationPlanSources(lm, selector, new QuestionEncoder(lm), [Rpc.Question]);
        var evaluated = await evaluator.PlanAsync(new Problem("q", Rpc.Question, "0", null, "test"), strategy, sources);

        Assert.Equal(strategy.ToProto(), served.Strategy);
        Assert.Equal(evaluated.Candidates.Select(c => c.Config.Name), served.Candidates.Select(c => c.Configuration.Name));
        Assert.Equal(evaluated.Candidates.Select(c => (float)c.Sampling.Temperature), served.Candidates.Select(c => c.Temperature));
        Assert.Equal(evaluated.Candidates.Select(c => c.Sampling.Seed ?? 0), served.Candidates.Select(c => c.Seed));
        Assert.Equal(evaluated.Candidates.Select(c => c.Score), served.Candidates.Select(c => c.Score), (a, b) => Math.Abs(a - b) < 1e-4);
    }
}
