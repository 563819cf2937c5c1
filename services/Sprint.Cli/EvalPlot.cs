using System.Globalization;
using Sprint.Pipeline.Evaluation;

namespace Sprint.Cli;

/// <summary>The plot of <c>sprint eval --plot</c> (ScottPlot lives in the CLI, not in the pipeline the services load).</summary>
static class EvalPlot
{
    /// <summary>Majority accuracy against N (log scale), one line per strategy, with the intervals as error bars.</summary>
    public static void Plot(IReadOnlyList<BestOfNRow> rows, string path, string title)
    {
        var plot = new ScottPlot.Plot();
        foreach (var group in rows.GroupBy(r => r.Strategy))
        {
            var points = group.OrderBy(r => r.N).ToList();
            var xs = points.Select(r => Math.Log2(r.N)).ToArray();
            var ys = points.Select(r => 100 * r.Majority.Value).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = group.Key;
            var bars = new ScottPlot.Plottables.ErrorBar(xs, ys, null, null,
                points.Select(r => 100 * (r.Majority.High - r.Majority.Value)).ToArray(),
                points.Select(r => 100 * (r.Majority.Value - r.Majority.Low)).ToArray()) { Color = line.Color };
            plot.Add.Plottable(bars);
        }
        var ns = rows.Select(r => r.N).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(ns.Select(n => Math.Log2(n)).ToArray(), ns.Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.XLabel("N (candidates)");
        plot.YLabel("majority-vote accuracy (%)");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 800, 500);
    }
}
