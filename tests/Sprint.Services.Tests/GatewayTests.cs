using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

[Collection(SuiteCollection.Name)]
public sealed class GatewayTests(SuiteFixture suite)
{
    [Fact(Timeout = 300_000)]
    public async Task Sprint_streams_plan_tagged_deltas_results_and_a_majority_verdict()
    {
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 4, Strategy = Strategy.Sprint, MaxNewTokens = 64, Temperature = 0 });   // greedy: a fixed verdict
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(Strategy.Sprint, plan.Strategy);
        Assert.Equal(4, plan.Candidates.Count);
        Assert.Equal(4, plan.Candidates.Select(c => c.Configuration.Name).Distinct().Count());
        Assert.True(plan.Candidates.Zip(plan.Candidates.Skip(1)).All(p => p.First.Score >= p.Second.Score), "plan is best first");
        Assert.StartsWith("sprint-tiny-math:", plan.EncoderId);
        Assert.All(results, r => Assert.Equal("", r.Error));
        Rpc.AssertVerdictIsMajority(results, verdict);
        Assert.Equal("52", verdict.Answer);
    }

    [Fact(Timeout = 300_000)]
    public async Task Sampling_with_a_seed_is_reproducible_and_greedy_has_one_candidate()
    {
        var request = new SolveRequest { Question = Rpc.Question, N = 3, Strategy = Strategy.Sampling, MaxNewTokens = 48, Seed = 7, Temperature = 1.0f };
        var first = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        var second = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        Assert.All(first.Plan.Candidates, c => Assert.Equal("none", c.Configuration.Name));
        Assert.Equal(first.Results.OrderBy(r => r.Index).Select(r => r.Text), second.Results.OrderBy(r => r.Index).Select(r => r.Text));

        var greedy = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 8, Strategy = Strategy.Greedy, MaxNewTokens = 48 }));
        Assert.Single(greedy.Results);
        Assert.Equal("52", greedy.Verdict.Answer);
    }

    [Fact(Timeout = 300_000)]
    public async Task Random_heads_are_distinct_pruned_heads_fixed_by_the_seed()
    {
        var request = new SolveRequest { Question = Rpc.Question, N = 5, Strategy = Strategy.RandomHeads, MaxNewTokens = 32, Seed = 11 };
        var a = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request)).Plan;
        var b = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request)).Plan;
        Assert.Equal(5, a.Candidates.Select(c => c.Configuration.Name).Distinct().Count());
        Assert.All(a.Candidates, c => Assert.Single(c.Configuration.PrunedHeads));
        Assert.Equal(a.Candidates.Select(c => c.Configuration.Name), b.Candidates.Select(c => c.Configuration.Name));
    }

    [Theory(Timeout = 300_000)]
    [InlineData("", 4, "sprint", 16, null, "question")]
    [InlineData("   ", 4, "sprint", 16, null, "question")]
    [InlineData("q", -1, "sprint", 16, null, "n")]
    [InlineData("q", 65, "sprint", 16, null, "n")]
    [InlineData("q", 40, "sprint", 16, null, "n")]        // the selector knows 33 configurations
    [InlineData("q", 40, "random_heads", 16, null, "n")]  // the model has 32 heads
    [InlineData("q", 4, "beam", 16, null, "strategy")]
    [InlineData("q", 4, "sprint", -1, null, "max_new_tokens")]
    [InlineData("q", 4, "sprint", 5000, null, "max_new_tokens")]
    [InlineData("q", 4, "greedy", 600, null, "max_new_tokens")]  // within the gateway's limit, beyond the model's context
    [InlineData("q", 4, "sampling", 16, -0.5f, "temperature")]
    public async Task Bad_requests_are_invalid_argument_naming_the_field(string question, int n, string strategy, int maxNew, float? temperature, string field)
    {
        var request = new SolveRequest { Question = question, N = n, Strategy = strategy == "beam" ? (Strategy)99 : Sprint.Core.StrategyNames.Parse(strategy).ToProto(), MaxNewTokens = maxNew };
        if (temperature is { } t) request.Temperature = t;
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, request), field);
    }

    [Fact(Timeout = 300_000)]
    public async Task An_over_long_question_is_refused()
    {
        var request = new SolveRequest { Question = new string('7', 8 * 1024 + 1), N = 1, Strategy = Strategy.Greedy };
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, request), "question");
    }

    [Fact(Timeout = 300_000)]
    public async Task Grpc_web_over_http1_reaches_the_gateway()
    {
        using var channel = GrpcChannel.ForAddress(suite.WebAddress, new GrpcChannelOptions
        {
            HttpHandler = new GrpcWebHandler(GrpcWebMode.GrpcWebText, new HttpClientHandler()),
            HttpVersion = new Version(1, 1),
        });
        var events = await Rpc.Solve(new GatewayService.GatewayServiceClient(channel),
            new SolveRequest { Question = Rpc.Question, N = 1, Strategy = Strategy.Greedy, MaxNewTokens = 32 });
        Assert.Equal("52", events[^1].Verdict.Answer);
    }
}
