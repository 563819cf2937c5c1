using System.Text;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>A validated Solve request with every default filled in.</summary>
public sealed record SolveSpec(string Question, int N, string Strategy, int MaxNewTokens, float? Temperature, ulong Seed)
{
    public static readonly string[] Strategies = ["sprint", "sampling", "random_heads", "greedy"];

    /// <summary>Checks every field; the first bad one is reported as INVALID_ARGUMENT naming it.</summary>
    public static SolveSpec From(SolveRequest r, GatewayOptions o)
    {
        var question = r.Question.Trim();
        if (question.Length == 0) throw Invalid.Argument("question", "must not be empty");
        int bytes = Encoding.UTF8.GetByteCount(question);
        if (bytes > o.MaxQuestionBytes) throw Invalid.Argument("question", $"{bytes} bytes exceeds the {o.MaxQuestionBytes}-byte limit");

        int n = r.N == 0 ? o.DefaultN : r.N;
        if (n < 1 || n > o.MaxN) throw Invalid.Argument("n", $"must be in 1..{o.MaxN} (0 takes the default {o.DefaultN}), got {r.N}");

        var strategy = r.Strategy.Length == 0 ? "sprint" : r.Strategy.Trim().ToLowerInvariant();
        if (!Strategies.Contains(strategy))
            throw Invalid.Argument("strategy", $"unknown '{r.Strategy}'; expected one of {string.Join(", ", Strategies)}");

        int maxNew = r.MaxNewTokens == 0 ? o.DefaultMaxNewTokens : r.MaxNewTokens;
        if (maxNew < 1 || maxNew > o.MaxNewTokensLimit)
            throw Invalid.Argument("max_new_tokens", $"must be in 1..{o.MaxNewTokensLimit} (0 takes the default {o.DefaultMaxNewTokens}), got {r.MaxNewTokens}");

        float? temperature = r.HasTemperature ? r.Temperature : null;
        if (temperature is { } t && !(t >= 0 && float.IsFinite(t)))
            throw Invalid.Argument("temperature", $"must be a finite number >= 0, got {t}");

        ulong seed = r.HasSeed ? r.Seed : (ulong)Random.Shared.NextInt64(long.MaxValue);
        return new SolveSpec(question, strategy == "greedy" ? 1 : n, strategy, maxNew, temperature, seed);
    }
}
