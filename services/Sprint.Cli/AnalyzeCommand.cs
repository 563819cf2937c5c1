using System.CommandLine;
using Sprint.Pipeline.Analysis;
using Sprint.Pipeline.Selection;

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
        return new Command("analyze", "Read results") { command };
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
