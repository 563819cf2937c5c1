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
/// <param name="Rejection">Null or none: every candidate decoded to its end; otherwise the policy replayed (<see cref="RejectionReplay"/>).</param>
/// <param name="Stopped">Candidates stopped at a failed step per question (rejection rows).</param>
public sealed record BestOfNRow(string Strategy, int N, Aggregation Aggregation, AdaptivePolicy? Adaptive, int Questions, Estimate Majority, Estimate PassAtN,
    double MeanCandidateAccuracy, double DistinctAnswers, double MeanGeneratedTokens, double MeanCandidates, IReadOnlyDictionary<int, double> MajorityByLevel,
    RejectionPolicy? Rejection = null, double Stopped = 0)
{
    /// <summary>"majority", "verified", "weighted", "verified, adaptive 2:6:1", "verified, rejection replace".</summary>
    public string Rule => Aggregation.Name() + (Adaptive is null ? "" : $", adaptive {Adaptive}") + (Rejection is { Active: true } r ? $", rejection {r}" : "");
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
        IReadOnlyList<Aggregation>? aggregations = null, IReadOnlyList<AdaptivePolicy>? adaptive = null, int resamples = 1000,
        IReadOnlyList<RejectionPolicy>? rejections = null)
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
                if (group.Key == Strategy.Greedy) continue;
                foreach (var policy in (adaptive ?? []).Where(p => p.Initial < n))
                    rows.Add(Row(group.Key, n, policy.Margin is null ? Aggregation.VerifiedMajority : Aggregation.VerifierWeighted, policy, questions,
                        first.Select(c => c.Take(policy.Started(c.Select(x => x.Ballot).ToList(), n)).ToList()).ToList()));
                foreach (var rejection in (rejections ?? []).Where(r => r.Active))
                    foreach (var policy in new AdaptivePolicy?[] { null }.Concat((adaptive ?? []).Where(p => p.Initial < n)))
                    {
                        var rule = policy?.Margin is null ? Aggregation.VerifiedMajority : Aggregation.VerifierWeighted;
                        var outcomes = questions.Select(q => Replay(q, n, rejection, policy)).ToList();
                        foreach (var agg in policy is null ? aggregations.Where(a => a.UsesChecks()) : [rule])
                            rows.Add(Row(group.Key, n, agg, policy, questions,
                                questions.Select((q, i) => outcomes[i].Finished.Select(x => q.Candidates[x]).ToList()).ToList(),
                                rejection, outcomes));
                    }
            }
        }
        return rows;

        BestOfNRow Row(Strategy strategy, int n, Aggregation rule, AdaptivePolicy? policy, List<QuestionResult> questions, List<List<DecodedCandidate>> ran,
            RejectionPolicy? rejection = null, List<RejectionOutcome>? outcomes = null)
        {
            var key = $"{strategy.Name()}/{rule.Name()}{(policy is null ? "" : "/" + policy)}{(rejection is null ? "" : "/" + rejection)}";
            var vote = ran.Select(c => MajorityVote.Winner(c, rule)?.Correct == true ? 1.0 : 0.0).ToArray();
            var pass = ran.Select(c => c.Any(x => x.Correct) ? 1.0 : 0.0).ToArray();
            var byLevel = questions.Select((q, i) => (Level: q.Problem.Level ?? 0, Hit: vote[i]))
                .GroupBy(x => x.Level).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Average(x => x.Hit));
            return new BestOfNRow(strategy.Name(), n, rule, policy, questions.Count,
                Bootstrap(vote, StableSeed.Derive(seed, "bootstrap", $"{key}/majority", n), resamples),
                Bootstrap(pass, StableSeed.Derive(seed, "bootstrap", $"{strategy.Name()}/pass", n), resamples),
                ran.Average(c => c.Count == 0 ? 0 : c.Average(x => x.Correct ? 1.0 : 0.0)),   // a rejection row may have stopped every candidate
                ran.Average(c => (double)MajorityVote.DistinctAnswers(c)),
                outcomes is null ? ran.Average(c => (double)c.Sum(x => x.Tokens)) : outcomes.Average(o => (double)o.GeneratedTokens),
                outcomes is null ? ran.Average(c => (double)c.Count) : outcomes.Average(o => (double)o.Started.Count),
                byLevel, rejection, outcomes?.Average(o => (double)o.Started.Count(o.IsStopped)) ?? 0);
        }
    }

    /// <summary>
    /// A question's candidates under a rejection policy: <see cref="RejectionReplay"/> on the logged candidates (each
    /// one's failure token read from its text and token ends), adaptive waves decided as the gateway decides them.
    /// </summary>
    public static RejectionOutcome Replay(QuestionResult q, int n, RejectionPolicy rejection, AdaptivePolicy? policy)
    {
        var stories = q.Candidates.Select(c => new RaceStory(c.Tokens,
            RejectionReplay.FailureToken(c.Text, c.TextEnds ?? throw new ArgumentException($"the candidate log has no token ends (Ends) for {q.Problem.Id}: decode it again to replay rejection")),
            c.Answer is not null && (c.Check?.Holds ?? true))).ToList();
        return RejectionReplay.Run(stories, n, rejection, policy,
            policy is null ? null : finished => policy.Decided(finished.Select(i => q.Candidates[i].Ballot)));
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
        s.AppendLine("| strategy | N | rule | vote accuracy % [95 % CI] | pass@N % [95 % CI] | mean candidate accuracy % | distinct answers | candidates run | stopped | tokens / question |");
        s.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in ordered)
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Strategy} | {r.N} | {r.Rule} | {r.Majority} | {r.PassAtN} | {100 * r.MeanCandidateAccuracy:F1} | {r.DistinctAnswers:F2} | {r.MeanCandidates:F2} | {r.Stopped:F2} | {r.MeanGeneratedTokens:F0} |"));
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
