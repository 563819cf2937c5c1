using System.Globalization;
using System.Text;
using Sprint.Answers;
using Sprint.Core;

namespace Sprint.Pipeline.Evaluation;

/// <summary>A value with its 95 % bootstrap confidence interval.</summary>
public sealed record Estimate(double Value, double Low, double High)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{100 * Value:F1} [{100 * Low:F1}, {100 * High:F1}]");
}

/// <summary>Metrics of one strategy at one N under one aggregation (and, for adaptive rows, the wave policy).</summary>
/// <param name="Adaptive">Null: all N candidates decoded; otherwise the waves that ran (see <see cref="AdaptivePolicy"/>).</param>
/// <param name="MeanGeneratedTokens">Tokens generated per question by the candidates that ran.</param>
/// <param name="MeanCandidates">Candidates that ran per question (N unless adaptive).</param>
public sealed record BestOfNRow(string Strategy, int N, Aggregation Aggregation, AdaptivePolicy? Adaptive, int Questions, Estimate Majority, Estimate PassAtN,
    double MeanCandidateAccuracy, double DistinctAnswers, double MeanGeneratedTokens, double MeanCandidates, IReadOnlyDictionary<int, double> MajorityByLevel)
{
    /// <summary>"majority", "verified", "weighted", or "verified, adaptive 2:6:1".</summary>
    public string Rule => Adaptive is null ? Aggregation.Name() : $"{Aggregation.Name()}, adaptive {Adaptive}";
}

/// <summary>
/// Best-of-N metrics: vote accuracy (under each aggregation), oracle pass@N (some candidate correct), mean candidate
/// accuracy, distinct answers and generated tokens per question, per difficulty level; 95 % percentile-bootstrap
/// intervals over questions (resampled with a <see cref="StableRandom"/> derived from the seed, the strategy, the
/// rule, the metric and N). <c>greedy</c> has one candidate, so its value is the same at every N. Adaptive rows replay
/// the gateway's waves on the full plan's candidates (<see cref="AdaptivePolicy.Started{T}"/>), voting verified (or
/// weighted, for a policy decided on the verifier's weights).
/// </summary>
public static class BestOfNReport
{
    public static IReadOnlyList<BestOfNRow> Compute(IReadOnlyList<QuestionResult> results, IReadOnlyList<int> ns, ulong seed,
        IReadOnlyList<Aggregation>? aggregations = null, IReadOnlyList<AdaptivePolicy>? adaptive = null, int resamples = 1000)
    {
        aggregations ??= [Aggregation.Majority];
        var rows = new List<BestOfNRow>();
        foreach (var group in results.GroupBy(r => r.Strategy))
        {
            var questions = group.ToList();
            foreach (var n in ns)
            {
                var first = questions.Select(q => q.Candidates.Take(n).ToList()).ToList();
                foreach (var rule in aggregations)
                    rows.Add(Row(group.Key, n, rule, null, questions, first));
                if (group.Key == Strategy.Greedy || adaptive is null) continue;
                foreach (var policy in adaptive.Where(p => p.Initial < n))
                    rows.Add(Row(group.Key, n, policy.Margin is null ? Aggregation.VerifiedMajority : Aggregation.VerifierWeighted, policy, questions,
                        first.Select(c => c.Take(policy.Started(c.Select(x => x.Ballot).ToList(), n)).ToList()).ToList()));
            }
        }
        return rows;

        BestOfNRow Row(Strategy strategy, int n, Aggregation rule, AdaptivePolicy? policy, List<QuestionResult> questions, List<List<DecodedCandidate>> ran)
        {
            var key = $"{strategy.Name()}/{rule.Name()}{(policy is null ? "" : "/" + policy)}";
            var vote = ran.Select(c => MajorityVote.Winner(c, rule)?.Correct == true ? 1.0 : 0.0).ToArray();
            var pass = ran.Select(c => c.Any(x => x.Correct) ? 1.0 : 0.0).ToArray();
            var byLevel = questions.Select((q, i) => (Level: q.Problem.Level ?? 0, Hit: vote[i]))
                .GroupBy(x => x.Level).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Average(x => x.Hit));
            return new BestOfNRow(strategy.Name(), n, rule, policy, questions.Count,
                Bootstrap(vote, StableSeed.Derive(seed, "bootstrap", $"{key}/majority", n), resamples),
                Bootstrap(pass, StableSeed.Derive(seed, "bootstrap", $"{strategy.Name()}/pass", n), resamples),
                ran.Average(c => c.Average(x => x.Correct ? 1.0 : 0.0)),
                ran.Average(c => (double)MajorityVote.DistinctAnswers(c)),
                ran.Average(c => (double)c.Sum(x => x.Tokens)),
                ran.Average(c => (double)c.Count),
                byLevel);
        }
    }

    public static Estimate Bootstrap(double[] values, ulong seed, int resamples = 1000)
    {
        if (values.Length == 0) return new Estimate(0, 0, 0);
        var random = new StableRandom(seed);
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < values.Length; i++) sum += values[random.Next(values.Length)];
            means[b] = sum / values.Length;
        }
        Array.Sort(means);
        return new Estimate(values.Average(), means[(int)(0.025 * (resamples - 1))], means[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }

    public static string Markdown(IReadOnlyList<BestOfNRow> rows)
    {
        var s = new StringBuilder();
        var ordered = rows.OrderBy(r => r.N).ThenBy(r => r.Strategy, StringComparer.Ordinal).ThenBy(r => r.Rule, StringComparer.Ordinal).ToList();
        s.AppendLine("| strategy | N | rule | vote accuracy % [95 % CI] | pass@N % [95 % CI] | mean candidate accuracy % | distinct answers | candidates run | tokens / question |");
        s.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in ordered)
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Strategy} | {r.N} | {r.Rule} | {r.Majority} | {r.PassAtN} | {100 * r.MeanCandidateAccuracy:F1} | {r.DistinctAnswers:F2} | {r.MeanCandidates:F2} | {r.MeanGeneratedTokens:F0} |"));
        var levels = rows.SelectMany(r => r.MajorityByLevel.Keys).Distinct().Order().ToList();
        s.AppendLine();
        s.AppendLine("Vote accuracy % by level:");
        s.AppendLine();
        s.AppendLine("| strategy | N | rule | " + string.Join(" | ", levels.Select(l => l == 0 ? "no level" : $"level {l}")) + " |");
        s.AppendLine("| --- | ---: | --- |" + string.Concat(levels.Select(_ => " ---: |")));
        foreach (var r in ordered)
            s.AppendLine($"| {r.Strategy} | {r.N} | {r.Rule} | " + string.Join(" | ", levels.Select(l =>
                r.MajorityByLevel.TryGetValue(l, out var v) ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) : "")) + " |");
        return s.ToString();
    }
}
