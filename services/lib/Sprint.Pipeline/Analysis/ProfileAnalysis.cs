using Sprint.Core;
using Sprint.Pipeline.Selection;
using Sprint.Selection;

namespace Sprint.Pipeline.Analysis;

/// <summary>One row of <see cref="ProfileAnalysis"/>: a difficulty level (null: all questions).</summary>
/// <param name="Greedy">Accuracy of the unpruned model.</param>
/// <param name="Oracle">Questions some configuration answers right.</param>
/// <param name="HeadsBetter">Single pruned heads more accurate than the unpruned model.</param>
/// <param name="BestHead">The most accurate single pruned head, and its accuracy.</param>
public sealed record LevelFigures(int? Level, int Questions, double Greedy, double Oracle, int HeadsBetter, string BestHead, double BestHeadAccuracy);

/// <summary>
/// What a profile says about SPRINT's premise (the paper's motivating figures): per level, the unpruned model's
/// accuracy, the oracle (some configuration right), how many single heads beat the unpruned model and the best of
/// them; and the accuracy change of pruning each (layer, head), per level.
/// </summary>
public sealed class ProfileAnalysis
{
    public required IReadOnlyList<LevelFigures> Levels { get; init; }
    /// <summary>Level → [layer, head] accuracy with that head pruned minus unpruned, in points (NaN where the profile has no such configuration).</summary>
    public required IReadOnlyDictionary<int, double[,]> Change { get; init; }
    public required ModelShape Shape { get; init; }

    public static ProfileAnalysis From(Profile profile)
    {
        int unpruned = profile.Configs.ToList().IndexOf(HeadConfig.UnprunedName);
        if (unpruned < 0) throw new FormatException("the profile has no unpruned configuration ('none')");
        var heads = profile.Configs.Select((name, i) => (Config: HeadConfig.Parse(name), Index: i)).Where(c => c.Config.Head is not null).ToList();
        if (heads.Count == 0) throw new FormatException("the profile has no single-head configurations");
        var shape = new ModelShape(heads.Max(h => h.Config.Head!.Value.Layer) + 1, heads.Max(h => h.Config.Head!.Value.Head) + 1);

        LevelFigures Figures(int? level, IReadOnlyList<ProfiledQuestion> qs)
        {
            double Accuracy(int config) => qs.Count(q => q.Correct[config]) / (double)qs.Count;
            double greedy = Accuracy(unpruned);
            var best = heads.Select(h => (h.Config.Name, Accuracy: Accuracy(h.Index))).MaxBy(h => h.Accuracy);
            return new LevelFigures(level, qs.Count, greedy, qs.Count(q => q.Correct.Any(c => c)) / (double)qs.Count,
                heads.Count(h => Accuracy(h.Index) > greedy), best.Name, best.Accuracy);
        }

        var byLevel = profile.Questions.Where(q => q.Level is not null).GroupBy(q => q.Level!.Value).OrderBy(g => g.Key).ToList();
        var levels = byLevel.Select(g => Figures(g.Key, g.ToList())).Append(Figures(null, profile.Questions)).ToList();
        var change = new Dictionary<int, double[,]>();
        foreach (var g in byLevel)
        {
            var qs = g.ToList();
            double greedy = qs.Count(q => q.Correct[unpruned]) / (double)qs.Count;
            var m = new double[shape.Layers, shape.Heads];
            for (int l = 0; l < shape.Layers; l++) for (int h = 0; h < shape.Heads; h++) m[l, h] = double.NaN;
            foreach (var (config, index) in heads)
                m[config.Head!.Value.Layer, config.Head!.Value.Head] = 100 * (qs.Count(q => q.Correct[index]) / (double)qs.Count - greedy);
            change[g.Key] = m;
        }
        return new ProfileAnalysis { Levels = levels, Change = change, Shape = shape };
    }

    /// <summary>The figures and the per-level change tables as Markdown.</summary>
    public string Markdown()
    {
        var b = new System.Text.StringBuilder();
        b.AppendLine("| level | questions | greedy (unpruned) | some configuration right (oracle) | heads better than unpruned | best single head |");
        b.AppendLine("| ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in Levels)
            b.AppendLine($"| {(r.Level?.ToString() ?? "all")} | {r.Questions} | {100 * r.Greedy:F1} % | {100 * r.Oracle:F1} % | {r.HeadsBetter} | {r.BestHead}: {100 * r.BestHeadAccuracy:F1} % |");
        foreach (var (level, m) in Change.OrderBy(c => c.Key))
        {
            b.AppendLine().AppendLine($"Level {level}: accuracy change in points when one head is pruned (rows: layers, columns: heads)").AppendLine();
            b.AppendLine("| layer | " + string.Join(" | ", Enumerable.Range(0, Shape.Heads)) + " |");
            b.AppendLine("| ---: |" + string.Concat(Enumerable.Repeat(" ---: |", Shape.Heads)));
            for (int l = 0; l < Shape.Layers; l++)
                b.AppendLine($"| {l} | " + string.Join(" | ", Enumerable.Range(0, Shape.Heads).Select(h => double.IsNaN(m[l, h]) ? "" : $"{m[l, h]:+0.0;-0.0;0.0}")) + " |");
        }
        return b.ToString();
    }
}
