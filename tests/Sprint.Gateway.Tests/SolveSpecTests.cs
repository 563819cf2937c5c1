using Sprint.Contracts.V1;
using Sprint.Core;
using Aggregation = Sprint.Contracts.V1.Aggregation;
using Strategy = Sprint.Contracts.V1.Strategy;

namespace Sprint.Gateway.Tests;

/// <summary>The gateway's request rules and defaults, without a model or a server.</summary>
public sealed class SolveSpecTests
{
    static readonly GatewayOptions Options = new();

    static string FieldOf(SolveRequest r) => Assert.Throws<InvalidFieldException>(() => SolveSpec.From(r, Options)).Field;
    static string Message(SolveRequest r) => Assert.Throws<InvalidFieldException>(() => SolveSpec.From(r, Options)).Message;

    [Fact]
    public void Unset_fields_take_the_documented_defaults()
    {
        var spec = SolveSpec.From(new SolveRequest { Question = "  What is 2 + 2?\n" }, Options);
        Assert.Equal("What is 2 + 2?", spec.Question);
        Assert.Equal(Defaults.N, spec.N);
        Assert.Equal(Core.Strategy.Sprint, spec.Strategy);
        Assert.Equal(Defaults.MaxNewTokens, spec.MaxNewTokens);
        Assert.Null(spec.Temperature);
        Assert.Equal(Answers.Aggregation.VerifiedMajority, spec.Aggregation);
        Assert.Null(spec.Adaptive);   // off unless asked for
        Assert.Equal((null, null), (spec.TopK, spec.TopP));   // the strategy decides (the planner: 40 and 0.95 for sprint)
        var adaptive = SolveSpec.From(new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters() }, Options).Adaptive;
        Assert.Equal(Answers.AdaptivePolicy.Default, adaptive);
        var other = SolveSpec.From(new SolveRequest { Question = "q" }, Options);
        Assert.NotEqual(spec.Seed, other.Seed);   // drawn when unset (and reported in the plan)
    }

    [Fact]
    public void Given_fields_are_kept_and_greedy_decodes_one()
    {
        var spec = SolveSpec.From(new SolveRequest { Question = "q", N = 5, Strategy = Strategy.RandomHeads, MaxNewTokens = 12, Temperature = 0.5f, Seed = 9 }, Options);
        Assert.Equal((5, Core.Strategy.RandomHeads, 12, 0.5, 9UL), (spec.N, spec.Strategy, spec.MaxNewTokens, spec.Temperature!.Value, spec.Seed));
        Assert.Equal(1, SolveSpec.From(new SolveRequest { Question = "q", N = 5, Strategy = Strategy.Greedy }, Options).N);
        // The default rejection replaces stopped candidates: the plan runs on to 2n, whose first n are the candidates.
        Assert.Equal(10, spec.PlanLength);
        Assert.Equal(new PlanRequest("q", 10, Core.Strategy.RandomHeads, 9, 0.5), spec.ToPlanRequest());
        var none = SolveSpec.From(new SolveRequest { Question = "q", N = 5, Rejection = new RejectionParameters { Mode = RejectionMode.None } }, Options);
        Assert.Equal(5, none.PlanLength);
        var paper = SolveSpec.From(new SolveRequest { Question = "q", N = 4, Temperature = 0.9f, TopK = 40, TopP = 0.95f, Aggregation = Aggregation.Majority,
            Adaptive = new AdaptiveParameters { Initial = 2, Agree = 3 } }, Options);
        Assert.Equal(((int?)40, (float?)0.95f, Answers.Aggregation.Majority, new Answers.AdaptivePolicy(2, Answers.AdaptivePolicy.Default.Wave, 3)), (paper.TopK, (float?)paper.TopP, paper.Aggregation, paper.Adaptive));
    }

    [Fact]
    public void Every_rule_names_its_field()
    {
        Assert.Equal("question", FieldOf(new SolveRequest { Question = " \n" }));
        Assert.Equal("question", FieldOf(new SolveRequest { Question = new string('7', Options.MaxQuestionBytes + 1) }));
        Assert.Equal("n", FieldOf(new SolveRequest { Question = "q", N = -1 }));
        Assert.Equal("n", FieldOf(new SolveRequest { Question = "q", N = Options.MaxN + 1 }));
        Assert.Equal("strategy", FieldOf(new SolveRequest { Question = "q", Strategy = (Strategy)42 }));
        Assert.Equal("max_new_tokens", FieldOf(new SolveRequest { Question = "q", MaxNewTokens = -3 }));
        Assert.Equal("max_new_tokens", FieldOf(new SolveRequest { Question = "q", MaxNewTokens = Options.MaxNewTokensLimit + 1 }));
        Assert.Equal("temperature", FieldOf(new SolveRequest { Question = "q", Temperature = -0.5f }));
        Assert.Equal("temperature", FieldOf(new SolveRequest { Question = "q", Temperature = 1.4e-45f }));
        Assert.Equal("temperature", FieldOf(new SolveRequest { Question = "q", Temperature = float.NaN }));
        Assert.Equal("aggregation", FieldOf(new SolveRequest { Question = "q", Aggregation = (Aggregation)7 }));
        Assert.Equal("top_k", FieldOf(new SolveRequest { Question = "q", TopK = -1 }));
        Assert.Equal("top_p", FieldOf(new SolveRequest { Question = "q", TopP = 1.5f }));
        Assert.Equal("top_p", FieldOf(new SolveRequest { Question = "q", TopP = 0 }));
        Assert.Equal("rejection.mode", FieldOf(new SolveRequest { Question = "q", Rejection = new RejectionParameters { Mode = (RejectionMode)9 } }));
        Assert.Equal("rejection.everyone_fails", FieldOf(new SolveRequest { Question = "q", Rejection = new RejectionParameters { EveryoneFails = (EveryoneFailsRule)9 } }));
        Assert.Equal("rejection.max_candidates", FieldOf(new SolveRequest { Question = "q", N = 4, Rejection = new RejectionParameters { Mode = RejectionMode.Replace, MaxCandidates = 3 } }));
        Assert.Equal("rejection.max_candidates", FieldOf(new SolveRequest { Question = "q", N = 4, Rejection = new RejectionParameters { Mode = RejectionMode.Replace, MaxCandidates = 17 } }));
        Assert.Equal("rejection.max_candidates", FieldOf(new SolveRequest { Question = "q", N = 4, Rejection = new RejectionParameters { Mode = RejectionMode.Stop, MaxCandidates = 8 } }));
        Assert.Equal("rejection.max_candidates", FieldOf(new SolveRequest { Question = "q", N = 40, Rejection = new RejectionParameters { Mode = RejectionMode.Replace, MaxCandidates = 100 } }));
        Assert.Equal("adaptive.initial", FieldOf(new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Initial = -1 } }));
        Assert.Equal("adaptive.wave", FieldOf(new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Wave = -2 } }));
        Assert.Equal("adaptive.agree", FieldOf(new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Agree = -3 } }));
        Assert.Equal("question: must not be empty", Message(new SolveRequest { Question = " " }));
        Assert.Equal($"question: {Options.MaxQuestionBytes + 1} bytes exceeds the {Options.MaxQuestionBytes}-byte limit",
            Message(new SolveRequest { Question = new string('7', Options.MaxQuestionBytes + 1) }));
        Assert.Equal("n: must be in 1..64 (0 takes the default 8), got -1", Message(new SolveRequest { Question = "q", N = -1 }));
        Assert.Equal("max_new_tokens: must be in 1..1024 (0 takes the default 256), got 1025", Message(new SolveRequest { Question = "q", MaxNewTokens = 1025 }));
        // The limits are inclusive.
        Assert.Equal((1, 1), (SolveSpec.From(new SolveRequest { Question = "q", N = 1, MaxNewTokens = 1 }, Options) is var one ? (one.N, one.MaxNewTokens) : default));
        SolveSpec.From(new SolveRequest { Question = new string('7', Options.MaxQuestionBytes), N = Options.MaxN, MaxNewTokens = Options.MaxNewTokensLimit }, Options);
    }
}
