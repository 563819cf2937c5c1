using System.CommandLine;
using Sprint.Pipeline.Analysis;
using Sprint.Pipeline.Selection;
using Sprint.Selection;

namespace Sprint.Cli;

/// <summary><c>sprint analyze profile</c>: SPRINT's premise read off a profile — the figures per level and a heat map of each head's effect.</summary>
static class AnalyzeCommand
{
    public static Command Create()
    {
        var profileOption = new Option<string>("--profile") { Description = "A profile written by sprint profile (JSONL)", Required = true };
        var markdown = new Option<string?>("--markdown") { Description = "Also write the figures and the per-level change tables to this Markdown file" };
        var plot = new Option<string?>("--plot") { Description = "Also write the heat map (layer × head, one panel per level) to this PNG" };
        var command = new Command("profile", "Per level: unpruned accuracy, oracle, heads better than unpruned, the best single head; each head's accuracy change")
        {
            profileOption, markdown, plot,
        };
        command.SetAction(parse =>
        {
            var analysis = ProfileAnalysis.From(Profile.Load(parse.GetValue(profileOption)!));
            var text = analysis.Markdown();
            parse.InvocationConfiguration.Output.Write(text);
            if (parse.GetValue(markdown) is { } md) File.WriteAllText(md, text);
            if (parse.GetValue(plot) is { } png) HeatMap(analysis, png);
            return 0;
        });
        return new Command("analyze", "Read results") { command, Probes() };
    }

    /// <summary><c>sprint analyze probes</c>: is the helpful head predictable from any question representation?</summary>
    static Command Probes()
    {
        var profileOption = new Option<string>("--profile") { Description = "A profile written by sprint profile (JSONL, with the questions' text)", Required = true };
        var model = CommonOptions.Model();
        var seed = new Option<ulong>("--seed") { Description = "Seed of the held-out fifth", DefaultValueFactory = _ => 1 };
        var markdown = new Option<string?>("--markdown") { Description = "Also write the table to this Markdown file" };
        var threads = CommonOptions.Threads();
        var dtype = CommonOptions.DType();
        var command = new Command("probes", "Top-1 accuracy of choosing each question's configuration by nearest neighbours or ridge regression over several question representations, against greedy and the question-independent best, per level")
        {
            profileOption, model, seed, markdown, threads, dtype,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var profile = Profile.Load(parse.GetValue(profileOption)!);
            if (profile.Questions.Any(q => q.Question.Length == 0))
            {
                parse.InvocationConfiguration.Error.WriteLine("error: the profile does not carry the questions' text");
                return 2;
            }
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            var (train, test) = HeadProbes.Split(profile, parse.GetValue(seed));
            var correct = profile.Questions.Select(q => q.Correct).ToArray();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var representations = HeadProbes.ModelRepresentations(lm, profile.Questions.Select(q => q.Question).ToList());
            representations["problem features (numbers, sizes, sentences, operation words)"] = profile.Questions.Select(q => HeadProbes.ProblemFeatures(q.Question)).ToArray();
            int best = HeadProbes.BestOnTraining(correct, train);
            var results = new List<HeadProbes.Result>
            {
                HeadProbes.Score("—", "greedy (unpruned)", profile, test, HeadProbes.Fixed(0, test)),
                HeadProbes.Score("—", $"question-independent best ({profile.Configs[best]})", profile, test, HeadProbes.Fixed(best, test)),
            };
            foreach (var (name, x) in representations)
            {
                foreach (int k in new[] { 10, 50, 200 })
                    results.Add(HeadProbes.Score(name, $"{k} nearest", profile, test, HeadProbes.NearestNeighbours(x, correct, train, test, k)));
                results.Add(HeadProbes.Score(name, "ridge (λ = 100)", profile, test, HeadProbes.Ridge(x, correct, train, test, 100)));
            }
            var levels = results[0].ByLevel.Keys.Order().ToArray();
            var oracle = test.Select(q => profile.Questions[q]).ToList();
            var b = new System.Text.StringBuilder();
            b.AppendLine($"{train.Length} training and {test.Length} held-out questions (seed {parse.GetValue(seed)}); top-1 accuracy of the configuration each way picks:").AppendLine();
            b.AppendLine("| representation | probe | " + string.Join(" | ", levels.Select(l => $"level {l}")) + " | all |");
            b.AppendLine("| --- | --- |" + string.Concat(Enumerable.Repeat(" ---: |", levels.Length + 1)));
            foreach (var r in results)
                b.AppendLine($"| {r.Representation} | {r.Probe} | " + string.Join(" | ", levels.Select(l => $"{100 * r.ByLevel[l]:F1}")) + $" | {100 * r.All:F1} |");
            b.AppendLine("| — | oracle (some configuration right) | " + string.Join(" | ", levels.Select(l => $"{100 * oracle.Where(q => q.Level == l).Average(q => q.Correct.Any(c => c) ? 1.0 : 0.0):F1}")) +
                $" | {100 * oracle.Average(q => q.Correct.Any(c => c) ? 1.0 : 0.0):F1} |");
            output.Write(b.ToString());
            output.WriteLine($"({clock.Elapsed.TotalSeconds:F0} s)");
            if (parse.GetValue(markdown) is { } md) File.WriteAllText(md, b.ToString());
            return 0;
        });
        return command;
    }

    /// <summary>
    /// One heat map: for each level a layers × heads block of the accuracy change (points) when that head is pruned,
    /// blocks side by side, a diverging colour scale centred on 0 and saturating at ±10 points.
    /// </summary>
    static void HeatMap(ProfileAnalysis analysis, string path)
    {
        var levels = analysis.Change.Keys.Order().ToArray();
        int layers = analysis.Shape.Layers, heads = analysis.Shape.Heads, width = levels.Length * (heads + 1) - 1;
        var cells = new double[layers, width];
        for (int l = 0; l < layers; l++) for (int x = 0; x < width; x++) cells[l, x] = double.NaN;
        for (int i = 0; i < levels.Length; i++)
        {
            var m = analysis.Change[levels[i]];
            for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) cells[l, i * (heads + 1) + h] = m[l, h];
        }
        const double extent = 10;   // points; beyond it the colour saturates, so the few-point gains of hard levels stay visible
        var plot = new ScottPlot.Plot();
        var map = plot.Add.Heatmap(cells);
        map.Colormap = new ScottPlot.Colormaps.Balance();
        map.ManualRange = new ScottPlot.Range(-extent, extent);
        map.NaNCellColor = ScottPlot.Colors.White;
        map.FlipVertically = true;
        plot.Add.ColorBar(map).Label = "points (clipped at ±10)";
        plot.Axes.Bottom.SetTicks(levels.Select((_, i) => i * (heads + 1) + (heads - 1) / 2.0).ToArray(), levels.Select(l => $"level {l}").ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, layers).Select(l => (double)l).ToArray(), Enumerable.Range(0, layers).Select(l => $"layer {l}").ToArray());
        plot.Title("Accuracy change (points) when one head is pruned: layers bottom to top, heads 0.. left to right in each level");
        plot.SavePng(path, 280 + 40 * width, 120 + 60 * layers);
    }
}
