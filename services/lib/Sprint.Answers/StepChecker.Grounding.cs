namespace Sprint.Answers;

/// <summary>What <see cref="StepChecker.Ground"/> found: checked steps, those with an operand from nowhere, and the first such.</summary>
public sealed record GroundingCheck(int Steps, int Ungrounded, string? FirstUngrounded);

public static partial class StepChecker
{
    /// <summary>Numbers a solution may use without the question writing them: small counts and the common units.</summary>
    static readonly Rational[] Constants = [.. new long[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 24, 30, 52, 60, 100, 365, 1000 }.Select(n => new Rational(n, 1))];

    static readonly Dictionary<string, long> NumberWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["eleven"] = 11, ["twelve"] = 12, ["thirteen"] = 13, ["fourteen"] = 14, ["fifteen"] = 15, ["sixteen"] = 16, ["seventeen"] = 17,
        ["eighteen"] = 18, ["nineteen"] = 19, ["twenty"] = 20, ["thirty"] = 30, ["forty"] = 40, ["fifty"] = 50, ["dozen"] = 12,
        ["hundred"] = 100, ["thousand"] = 1000, ["million"] = 1_000_000,
    };

    /// <summary>
    /// The grounding check: each checked step (as <see cref="Check"/> finds them) is grounded when every number its
    /// left side is computed from is written in the question (digits, or a number word from eleven up — the smaller
    /// ones are constants anyway), is a result of an earlier step, or is one of a short list of constants (0–10, 12,
    /// 24, 30, 52, 60, 100, 365, 1000). A step with an operand from nowhere is "ungrounded": a number the candidate
    /// invented or misread.
    /// </summary>
    public static GroundingCheck Ground(string question, string? solution)
    {
        if (string.IsNullOrEmpty(solution)) return new GroundingCheck(0, 0, null);
        var known = new HashSet<Rational>(Constants);
        foreach (var t in Tokenize(question.Replace("{,}", ",")))
            if (t.Kind == Kind.Num) known.Add(t.Value);
        foreach (var word in question.Split([' ', ',', '.', '?', '!', ';', ':', '-', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (NumberWords.TryGetValue(word, out var n)) known.Add(new Rational(n, 1));
        int steps = 0, ungrounded = 0;
        string? first = null;
        Walk(solution, new Tally(), (operands, left, right, text) =>
        {
            steps++;
            if (operands.Any(o => !known.Contains(o) && !known.Contains(-o)))
            {
                ungrounded++;
                first ??= text;
            }
            known.Add(left);
            known.Add(right);
        });
        return new GroundingCheck(steps, ungrounded, first);
    }
}
