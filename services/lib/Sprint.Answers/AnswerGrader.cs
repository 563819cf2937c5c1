using System.Globalization;

namespace Sprint.Answers;

/// <summary>Decides whether a candidate answer equals a reference: normalised strings, or numbers within a tolerance.</summary>
public static class AnswerGrader
{
    public const double RelativeTolerance = 1e-6;

    public static bool IsEquivalent(string? candidate, string? reference)
    {
        if (candidate is null || reference is null) return false;
        var a = AnswerNormalizer.Normalize(candidate);
        var b = AnswerNormalizer.Normalize(reference);
        if (a.Length == 0 || b.Length == 0) return false;
        if (a == b) return true;
        if (AnswerNormalizer.TryNumber(a, out var x) && AnswerNormalizer.TryNumber(b, out var y))
            return Math.Abs(x - y) <= RelativeTolerance * Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y)));
        return false;
    }

    internal static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
