namespace Sprint.Pipeline.Verification;

/// <summary>How well probabilities rank and how well they are calibrated, for labelled predictions.</summary>
public static class Calibration
{
    /// <summary>
    /// Area under the ROC curve: the chance that a right candidate scores above a wrong one (ties count half);
    /// NaN when one class is absent.
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double positives = labels.Count(x => x), negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        double rankSum = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;   // average rank of a tie
            for (int k = i; k <= j; k++) if (labels[order[k]]) rankSum += rank;
            i = j + 1;
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>One bin of a reliability table: predictions in [Low, High), their mean and the share right.</summary>
    public sealed record Bin(double Low, double High, int Count, double MeanPredicted, double ShareRight);

    /// <summary>Reliability table over <paramref name="bins"/> equal-width bins (empty bins left out).</summary>
    public static IReadOnlyList<Bin> Reliability(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, int bins = 10)
    {
        var table = new List<Bin>();
        for (int b = 0; b < bins; b++)
        {
            double low = (double)b / bins, high = (double)(b + 1) / bins;
            var members = Enumerable.Range(0, scores.Count).Where(i => scores[i] >= low && (scores[i] < high || (b == bins - 1 && scores[i] <= high))).ToList();
            if (members.Count == 0) continue;
            table.Add(new Bin(low, high, members.Count, members.Average(i => scores[i]), members.Average(i => labels[i] ? 1.0 : 0.0)));
        }
        return table;
    }

    /// <summary>Expected calibration error: the count-weighted mean gap between predicted and observed in each bin.</summary>
    public static double Ece(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, int bins = 10) =>
        scores.Count == 0 ? double.NaN : Reliability(scores, labels, bins).Sum(b => b.Count * Math.Abs(b.MeanPredicted - b.ShareRight)) / scores.Count;
}
