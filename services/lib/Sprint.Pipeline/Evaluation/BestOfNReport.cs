using System.Globalization;
using System.Text;
using Sprint.Core;

namespace Sprint.Pipeline.Evaluation;

/// <summary>A value with its 95 % bootstrap confidence interval.</summary>
public sealed record Estimate(double Value, double Low, double High)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{100 * Value:F1} [{100 * Low:F1}, {100 * High:F1}]");
}

/// <summary>Metrics of one strategy at one N.</summary>
public sealed record BestOfNRow(string Strategy, int N, int Questions, Estimate Majority, Estimate PassAtN, double MeanCandidateAccuracy,
    double DistinctAnswers, IReadOnlyDictionary<int, double> MajorityByLevel);

/// <summary>
/// Best-of-N metrics: majority-vote accuracy, oracle pass@N (some candidate correct), mean candidate accuracy,
/// distinct answers per question, per difficulty level; 95 % percentile-bootstrap intervals over questions
/// (resampled with a <see cref="StableRandom"/> derived from the seed, the strategy, the metric and N). <c>greedy</c> has one candidate, so its value is the same at every N.
/// </summary>
public static class BestOfNReport
{
    public static IReadOnlyList<BestOfNRow> Compute(IReadOnlyList<QuestionResult> results, IReadOnlyList<int> ns, ulong seed, int resamples = 1000)
    {
        var rows = new List<BestOfNRow>();
        foreach (var group in results.GroupBy(r => r.Strategy))
        {
            var questions = group.ToList();
            foreach (var n in ns)
            {
                var first = questions.Select(q => q.Candidates.Take(n).ToList()).ToList();
                var majority = first.Select(c => MajorityVote.Winner(c)?.Correct == true ? 1.0 : 0.0).ToArray();
                var pass = first.Select(c => c.Any(x => x.Correct) ? 1.0 : 0.0).ToArray();
                var byLevel = questions.Select((q, i) => (Level: q.Problem.Level ?? 0, Hit: majority[i]))
                    .GroupBy(x => x.Level).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Average(x => x.Hit));
                rows.Add(new BestOfNRow(group.Key.Name(), n, questions.Count,
                    Bootstrap(majority, StableSeed.Derive(seed, "bootstrap", $"{group.Key.Name()}/majority", n), resamples),
                    Bootstrap(pass, StableSeed.Derive(seed, "bootstrap", $"{group.Key.Name()}/pass", n), resamples),
                    first.Average(c => c.Average(x => x.Correct ? 1.0 : 0.0)),
                    first.Average(c => (double)MajorityVote.DistinctAnswers(c)),
                    byLevel));
            }
        }
        return rows;
    }

    /// <summary>
    /// Every candidate, one JSON line per question and strategy in the evaluation's order: the question id, the
    /// strategy and per candidate its configuration, extracted answer, correctness and mean log-probability.
    /// </summary>
    public static void WriteCandidates(IReadOnlyList<QuestionResult> results, string path)
    {
        using var writer = new StreamWriter(path);
        foreach (var r in results)
            writer.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                id = r.Problem.Id,
                strategy = r.Strategy.Name(),
                candidates = r.Candidates.Select(c => new { config = c.Config, answer = c.Answer, correct = c.Correct, mean_log_prob = c.MeanLogProb }),
            }));
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
        s.AppendLine("| strategy | N | majority accuracy % [95 % CI] | pass@N % [95 % CI] | mean candidate accuracy % | distinct answers |");
        s.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows.OrderBy(r => r.N).ThenBy(r => r.Strategy, StringComparer.Ordinal))
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Strategy} | {r.N} | {r.Majority} | {r.PassAtN} | {100 * r.MeanCandidateAccuracy:F1} | {r.DistinctAnswers:F2} |"));
        var levels = rows.SelectMany(r => r.MajorityByLevel.Keys).Distinct().Order().ToList();
        s.AppendLine();
        s.AppendLine("Majority accuracy % by level:");
        s.AppendLine();
        s.AppendLine("| strategy | N | " + string.Join(" | ", levels.Select(l => l == 0 ? "no level" : $"level {l}")) + " |");
        s.AppendLine("| --- | ---: |" + string.Concat(levels.Select(_ => " ---: |")));
        foreach (var r in rows.OrderBy(r => r.N).ThenBy(r => r.Strategy, StringComparer.Ordinal))
            s.AppendLine($"| {r.Strategy} | {r.N} | " + string.Join(" | ", levels.Select(l =>
                r.MajorityByLevel.TryGetValue(l, out var v) ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) : "")) + " |");
        return s.ToString();
    }
}
