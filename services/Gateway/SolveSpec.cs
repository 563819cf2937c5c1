using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;
using Aggregation = Sprint.Answers.Aggregation;
using Strategy = Sprint.Core.Strategy;

namespace Sprint.Gateway;

/// <summary>
/// A validated Solve request with every default filled in. The gateway's own rules (question size, n and
/// max_new_tokens within the configured limits) are checked here; the temperature rule is
/// <see cref="SamplingParams"/>'s; the context rule is the generators'.
/// </summary>
public sealed record SolveSpec(string Question, int N, Strategy Strategy, int MaxNewTokens, double? Temperature, ulong Seed,
    Aggregation Aggregation = Aggregation.VerifiedMajority, AdaptivePolicy? Adaptive = null, int? TopK = null, double? TopP = null,
    IReadOnlyList<string>? Stop = null, string? SystemPrompt = null, bool RequireSelectedHeads = false, RejectionPolicy? Rejection = null, int Cap = 0)
{
    /// <summary>The rejection policy in force (none when the request's resolves to none, and always for greedy).</summary>
    public RejectionPolicy Rejecting => Rejection ?? RejectionPolicy.None;

    /// <summary>How many of the plan's candidates may start: n, or the replacement cap.</summary>
    public int PlanLength => Rejecting.Mode == Answers.Rejection.Replace ? Math.Max(Cap, N) : N;

    /// <summary>Whether finished candidates go to the Verifier: for the verified and weighted votes, to decide adaptive waves, and to reject while decoding.</summary>
    public bool Checks => Aggregation.UsesChecks() || Adaptive is not null || Rejecting.Active;

    /// <summary>Whether the rule reads the learned verifier's scores (the weighted vote, margin waves); otherwise the Verifier skips them.</summary>
    public bool Scores => Aggregation == Aggregation.VerifierWeighted || Adaptive?.Margin is not null;

    /// <summary>Checks every field; the first bad one is reported as INVALID_ARGUMENT naming it.</summary>
    public static SolveSpec From(SolveRequest r, GatewayOptions o)
    {
        var question = ClientText.Normalized(r.Question, "question");
        if (question.Length == 0) throw new InvalidFieldException("question", "must not be empty");
        ClientText.CheckSize(question, "question", o.MaxQuestionBytes);

        int n = r.N == 0 ? o.DefaultN : r.N;
        if (n < 1 || n > o.MaxN) throw new InvalidFieldException("n", $"must be in 1..{o.MaxN} (0 takes the default {o.DefaultN}), got {r.N}");

        var strategy = r.Strategy.ToCore();

        int maxNew = r.MaxNewTokens == 0 ? o.DefaultMaxNewTokens : r.MaxNewTokens;
        if (maxNew < 1 || maxNew > o.MaxNewTokensLimit)
            throw new InvalidFieldException("max_new_tokens", $"must be in 1..{o.MaxNewTokensLimit} (0 takes the default {o.DefaultMaxNewTokens}), got {r.MaxNewTokens}");
        var stop = new StoppingCriteria { MaxNewTokens = maxNew, StopStrings = [.. r.Stop] }.Validate().StopStrings;   // StoppingCriteria's rules

        double? temperature = r.HasTemperature ? r.Temperature : null;
        if (temperature is { } t) SamplingParams.CheckTemperature(t);

        int? topK = r.HasTopK ? r.TopK : null;
        double? topP = r.HasTopP ? r.TopP : null;
        new SamplingParams { TopK = topK ?? 0, TopP = topP ?? 1.0 }.Validate();   // top_k and top_p: SamplingParams' rules
        var aggregation = r.Aggregation.ToCore();
        var adaptive = r.Adaptive.ToCore();

        string? system = null;   // unset: the generators' own
        if (r.HasSystemPrompt)
        {
            system = ClientText.Normalized(r.SystemPrompt, "system_prompt");
            ClientText.CheckSize(system, "system_prompt", o.MaxQuestionBytes);
        }

        var (rejection, cap) = r.Rejection.ToCore(n, o.MaxN);
        if (strategy == Strategy.Greedy) (rejection, cap) = (RejectionPolicy.None, 1);   // one greedy candidate: a replacement would decode the same text

        ulong seed = r.HasSeed ? r.Seed : (ulong)Random.Shared.NextInt64(long.MaxValue);
        return new SolveSpec(question, strategy == Strategy.Greedy ? 1 : n, strategy, maxNew, temperature, seed, aggregation, adaptive, topK, topP, stop, system,
            r.RequireSelectedHeads, rejection, cap);
    }

    /// <summary>The plan for every candidate that may start (a plan for n is a prefix of it).</summary>
    public PlanRequest ToPlanRequest() => new(Question, PlanLength, Strategy, Seed, Temperature, TopP, TopK);
}
