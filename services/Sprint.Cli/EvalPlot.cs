using Sprint.Pipeline.Evaluation;

namespace Sprint.Cli;

/// <summary>The plot of <c>sprint eval --plot</c> (ScottPlot lives in the CLI, not in the pipeline the services load).</summary>
static class EvalPlot
{
    /// <summary>
    /// Vote accuracy against generated tokens per question (log scale): one line per strategy and rule through its N,
    /// adaptive rows as markers, the 95 % intervals as error bars.
    /// </summary>
    public static void Plot(IReadOnlyList<BestOfNRow> rows, string path, string title)
    {
        var plot = new ScottPlot.Plot();
        plot.Add.Palette = new ScottPlot.Palettes.Category20();   // up to 20 series keep their own colour
        foreach (var group in rows.GroupBy(r => (r.Strategy, r.Rule)))
        {
            var points = group.OrderBy(r => r.N).ToList();
            var xs = points.Select(r => Math.Log10(Math.Max(1, r.MeanGeneratedTokens))).ToArray();
            var ys = points.Select(r => 100 * r.Majority.Value).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = $"{group.Key.Strategy} ({group.Key.Rule})";
            if (group.First().Adaptive is not null) line.LineWidth = 0;
            var bars = new ScottPlot.Plottables.ErrorBar(xs, ys, null, null,
                points.Select(r => 100 * (r.Majority.High - r.Majority.Value)).ToArray(),
                points.Select(r => 100 * (r.Majority.Value - r.Majority.Low)).ToArray()) { Color = line.Color };
            plot.Add.Plottable(bars);
        }
        var ticks = new[] { 30, 100, 300, 1000, 3000, 10000 };
        plot.Axes.Bottom.SetTicks(ticks.Select(t => Math.Log10(t)).ToArray(), ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.XLabel("generated tokens per question (log scale; points: N = 1, 4, 8, 16)");
        plot.YLabel("vote accuracy (%)");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Edge.Right);   // beside the data, not over it
        plot.SavePng(path, 1200, 640);
    }
}
