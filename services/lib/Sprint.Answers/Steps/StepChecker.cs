using System.Text.RegularExpressions;
using static Sprint.Answers.StepLexer;

namespace Sprint.Answers;

/// <summary>The first written step whose arithmetic does not hold.</summary>
/// <param name="Step">1-based, among the solution's checked steps.</param>
/// <param name="Text">The step as written (e.g. <c>21 - 8 = 14</c>).</param>
/// <param name="Written">The written result (e.g. <c>14</c>).</param>
/// <param name="Computed">What the left side really is, exactly (e.g. <c>13</c>; six places when it does not terminate).</param>
public sealed record StepFailure(int Step, string Text, string Written, string Computed);

/// <summary>What <see cref="StepChecker"/> found in one solution.</summary>
/// <param name="CheckedSteps">Written equalities it could recompute.</param>
/// <param name="FailedSteps">Those that do not hold.</param>
public sealed record StepCheck(int CheckedSteps, int FailedSteps, StepFailure? FirstFailure)
{
    public static StepCheck None { get; } = new(0, 0, null);
    /// <summary>No checked step fails (also true when nothing could be checked).</summary>
    public bool Holds => FailedSteps == 0;
}

/// <summary>
/// Finds the arithmetic a solution writes and recomputes it exactly (<see cref="Rational"/>): each <c>=</c> whose
/// two sides read as arithmetic is one step. It reads integers and decimals (<c>1,450,000</c>, <c>.5</c>), currency
/// and units around numbers (<c>$2</c>, <c>16 eggs - 3 eggs</c>), percent (<c>20%</c>, <c>20% of 50</c>), unary
/// minus, parentheses, <c>+ - − – * x × · / ÷ ^</c>, LaTeX <c>\times \cdot \div \frac{a}{b}</c>, GSM8K calculator
/// annotations <c>&lt;&lt;16-3-4=9&gt;&gt;</c> (a line that has them is checked through them alone), chains
/// <c>a = b = c</c> and running totals (<c>3*4 = 12 + 2 = 14</c>). A written result holds when it equals the value,
/// or the value rounded or cut to the written number of decimals (<c>10/3 = 3.33</c> holds, <c>10/3 = 3.5</c> does
/// not); a written percent may be the value or the value in percent (<c>0.25 * 100 = 25%</c>).
/// Competition LaTeX it evaluates exactly where it can — <c>\sqrt{144}</c> and <c>\sqrt[3]{64}</c> of a written perfect
/// power, <c>\binom{5}{2}</c>, mixed numbers (<c>4\dfrac{5}{8}</c> is 4 + 5/8), <c>15{,}000</c> and <c>1,\!000</c>,
/// <c>\left( \right)</c> — and lines of modular arithmetic (<c>\pmod</c>, <c>\equiv</c>, "mod") it leaves alone.
/// What it cannot read it skips — a side with a variable (<c>2x + 3 = 9</c>), any other LaTeX command together with its
/// arguments (<c>\log_2{8}</c>, <c>\sqrt{2}</c>: never read as the product of its braces), a non-integer or huge
/// power, a division by zero — so a step is never failed for being unreadable.
/// </summary>
public static partial class StepChecker
{
    public static StepCheck Check(string? text)
    {
        if (string.IsNullOrEmpty(text)) return StepCheck.None;
        var state = new Tally();
        foreach (var line in text.Split('\n')) CheckLine(line, state);
        return state.Result;
    }

    /// <summary>
    /// One line's steps, numbered on from the lines before (the unit of the check: a step never spans lines, so a
    /// text checked line by line as it is written — <see cref="StepReader"/> — gets the same result as the whole text).
    /// </summary>
    internal static void CheckLine(string line, Tally tally)
    {
        var annotations = Annotation().Matches(line);
        if (annotations.Count > 0)
            foreach (Match m in annotations) CheckEquations(m.Groups[1].Value, tally);
        else
            CheckEquations(line, tally);
    }

    /// <summary>The steps counted so far in one text.</summary>
    internal sealed class Tally
    {
        public int Checked, Failed;
        public StepFailure? First;
        public StepCheck Result => new(Checked, Failed, First);
    }

    [GeneratedRegex("<<([^<>\n]*)>>")]
    private static partial Regex Annotation();

    [GeneratedRegex(@"\\(pmod|bmod|mod|equiv)\b|\bmod\b|\(mod ")]
    private static partial Regex ModularLine();

    static void CheckEquations(string line, Tally tally)
    {
        if (line.IndexOf('=') < 0 && !line.Contains("equals", StringComparison.Ordinal)) return;
        if (ModularLine().IsMatch(line)) return;   // "17 \equiv 2 \pmod 5", "x = 3 mod 7": congruences, not equalities
        line = line.Replace("{,}", ",").Replace(",\\!", ",");   // LaTeX thousands: 15{,}000, 1,\!000
        var tokens = Tokenize(line);
        var eqs = Enumerable.Range(0, tokens.Count).Where(i => tokens[i].Kind == Kind.Eq).ToList();
        for (int e = 0; e < eqs.Count; e++)
        {
            int at = eqs[e];
            int lowBound = e > 0 ? eqs[e - 1] + 1 : 0, highBound = e + 1 < eqs.Count ? eqs[e + 1] : tokens.Count;
            if (ScanLeft(line, tokens, at, lowBound) is not { } left || ScanRight(tokens, at, highBound) is not { } right) continue;
            var l = StepSide.Read(tokens, left.From, left.To);
            var r = StepSide.Read(tokens, right.From, right.To);
            if (l is null || r is null || !(l.HasOperator || r.HasOperator)) continue;
            // "1 hour 20 minutes = (60 + 20) minutes", "48 = 100% + 20%": a number restated, not computed; in a chain
            // "a = b = c" the b on the left is the step before's result and counts.
            bool chained = e > 0 && left.From == lowBound;
            if (!l.HasOperator && !chained) continue;
            // "1/2 a cup = 4 ounces", "$2.50 - $2.24 = 26 cents": a unit conversion, not arithmetic.
            var leftUnits = Units(line, tokens, left.From, left.To);
            int after = right.To;
            while (after < tokens.Count && after - right.To < 3 && tokens[after].Kind == Kind.Word) after++;
            var rightUnits = Units(line, tokens, right.From, after);
            if (leftUnits.Count > 0 && rightUnits.Count > 0 && !leftUnits.Any(u => rightUnits.Any(v => u.EndsWith(v, StringComparison.Ordinal) || v.EndsWith(u, StringComparison.Ordinal)))) continue;
            tally.Checked++;
            if (StepTolerance.Holds(l, r) || l.Literal is { } written && StepTolerance.Matches(r.Value, written.Value, written.Decimals)) continue;
            // "15 trucks / 90 vehicles * 100% = 16.66...%": percent used as "times 100".
            if ((l.HasPercent || r.HasPercent) && (StepTolerance.Holds(l.Scaled(new Rational(100, 1)), r) || StepTolerance.Holds(l.Scaled(new Rational(1, 100)), r))) continue;
            tally.Failed++;
            tally.First ??= new StepFailure(tally.Checked,
                line[tokens[left.From].Start..tokens[right.To - 1].End].Trim(),
                line[tokens[right.From].Start..tokens[right.To - 1].End].Trim(),
                l.Value.ToString());
        }
    }

    /// <summary>The units a side names: its words ("snakes/jaguar" is snake and jaguar; plurals singular) and "$" for money.</summary>
    static HashSet<string> Units(string line, List<Token> tokens, int from, int to)
    {
        var units = new HashSet<string>();
        for (int i = from; i < to; i++)
        {
            if (tokens[i].Kind == Kind.Word)
                foreach (var part in line[tokens[i].Start..tokens[i].End].ToLowerInvariant().Split('/', StringSplitOptions.RemoveEmptyEntries))
                    units.Add(part.Length > 3 && part.EndsWith('s') ? part[..^1] : part);
            if (tokens[i] is { Kind: Kind.Num, Currency: true }) units.Add("$");
        }
        return units;
    }

    /// <summary>The left side of the '=' at <paramref name="at"/>: back over numbers, operators, parentheses and units.</summary>
    static (int From, int To)? ScanLeft(string line, List<Token> tokens, int at, int bound)
    {
        int i = at - 1;
        while (i >= bound)
        {
            var k = tokens[i].Kind;
            if (k is Kind.Num or Kind.Op or Kind.LParen or Kind.RParen or Kind.Percent or Kind.Frac) { i--; continue; }
            if (k == Kind.Word && IsUnit(tokens, i)) { i--; continue; }
            if (k == Kind.Var) return null;   // "2x + 3 = 9": algebra, not arithmetic
            // "1 and 1/4 cup = ...": a mixed number whose whole part is in the prose.
            if (k == Kind.Word && i > bound && tokens[i - 1].Kind == Kind.Num && line[tokens[i].Start..tokens[i].End] == "and" && i + 1 < at && tokens[i + 1].Kind == Kind.Num) return null;
            break;
        }
        int from = i + 1;
        while (from < at && tokens[from].Kind == Kind.Word) from++;
        // "24 hours in a day - 4 hours cleaning = ...", "total amount*(75/100) = ...": the left side began in the prose.
        if (from < at && tokens[from].Kind == Kind.Op && (from > bound || tokens[from].Op is not ('-' or '+'))) return null;
        from = SkipUnbalanced(tokens, from, at, Kind.LParen, Kind.RParen);
        return from < at ? (from, at) : null;
    }

    /// <summary>The right side of the '=' at <paramref name="at"/>, up to what is no longer arithmetic.</summary>
    static (int From, int To)? ScanRight(List<Token> tokens, int at, int bound)
    {
        int i = at + 1;
        while (i < bound)
        {
            var k = tokens[i].Kind;
            if (k is Kind.Num or Kind.Op or Kind.LParen or Kind.RParen or Kind.Percent or Kind.Frac) { i++; continue; }
            if (k == Kind.Word && IsUnit(tokens, i)) { i++; continue; }
            if (k == Kind.Var) return null;
            // "0.\overline{3}": a number that runs on into what cannot be read is not the number before it.
            if (k == Kind.Stop && i + 1 < bound && tokens[i + 1].Kind == Kind.Var && tokens[i + 1].Start == tokens[i].End && i > at + 1 && tokens[i - 1].End == tokens[i].Start) return null;
            break;
        }
        int to = i;
        while (to > at + 1 && tokens[to - 1].Kind is Kind.Word or Kind.Op) to--;   // trailing units, a dangling operator
        int from = at + 1;
        if (from >= to) return null;
        // Drop closing parentheses that close nothing on this side ("(so 3 + 4 = 7)").
        int depth = 0, end = from;
        for (int j = from; j < to; j++)
        {
            if (tokens[j].Kind == Kind.LParen) depth++;
            else if (tokens[j].Kind == Kind.RParen && --depth < 0) break;
            end = j + 1;
        }
        return end > from ? (from, end) : null;
    }

    /// <summary>Skips leading opening parentheses that nothing on the side closes.</summary>
    static int SkipUnbalanced(List<Token> tokens, int from, int to, Kind open, Kind close)
    {
        while (from < to && tokens[from].Kind == open)
        {
            int depth = 0;
            bool closed = false;
            for (int j = from; j < to; j++)
            {
                if (tokens[j].Kind == open) depth++;
                else if (tokens[j].Kind == close && --depth == 0) { closed = true; break; }
            }
            if (closed) break;
            from++;
        }
        return from;
    }

    /// <summary>
    /// Words (up to six: "10ml of oil per wheel") between a number and an operator is the number's unit: "16 eggs - 3 eggs". Scanning in
    /// either direction, the word at <paramref name="i"/> counts when a number is on its one side and an
    /// operator, an '=' or a parenthesis on the other.
    /// </summary>
    const int MaxUnitWords = 6;

    static bool IsUnit(List<Token> tokens, int i)
    {
        int before = i - 1, after = i + 1;
        while (before >= 0 && tokens[before].Kind == Kind.Word && i - before < MaxUnitWords) before--;
        while (after < tokens.Count && tokens[after].Kind == Kind.Word && after - i < MaxUnitWords) after++;
        bool numberBefore = before >= 0 && tokens[before].Kind is Kind.Num or Kind.Percent or Kind.RParen;
        bool operatorAfter = after < tokens.Count && (tokens[after].Kind is Kind.Eq or Kind.RParen
            || tokens[after].Kind == Kind.Op && tokens[after].Op != '^');
        return numberBefore && operatorAfter;
    }
}
