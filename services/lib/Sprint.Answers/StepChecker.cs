using System.Text.RegularExpressions;

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
        foreach (var line in text.Split('\n'))
        {
            var annotations = Annotation().Matches(line);
            if (annotations.Count > 0)
                foreach (Match m in annotations) CheckEquations(m.Groups[1].Value, state);
            else
                CheckEquations(line, state);
        }
        return new StepCheck(state.Checked, state.Failed, state.First);
    }

    sealed class Tally
    {
        public int Checked, Failed;
        public StepFailure? First;
    }

    [GeneratedRegex("<<([^<>\n]*)>>")]
    private static partial Regex Annotation();

    [GeneratedRegex(@"\\(pmod|bmod|mod|equiv)\b|\bmod\b|\(mod ")]
    private static partial Regex ModularLine();

    enum Kind { Num, Op, LParen, RParen, Eq, Percent, Frac, Word, Var, Stop }

    /// <param name="Computed">A number the checker worked out from LaTeX (a root, a binomial, a mixed number): a side holding one computes.</param>
    readonly record struct Token(Kind Kind, int Start, int End, char Op = '\0', Rational Value = default, int Decimals = 0, bool Currency = false, bool Computed = false);

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
            var l = Side.Read(tokens, left.From, left.To);
            var r = Side.Read(tokens, right.From, right.To);
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
            if (Holds(l, r) || l.Literal is { } written && Matches(r.Value, written.Value, written.Decimals)) continue;
            // "15 trucks / 90 vehicles * 100% = 16.66...%": percent used as "times 100".
            if ((l.HasPercent || r.HasPercent) && (Holds(l.Scaled(new Rational(100, 1)), r) || Holds(l.Scaled(new Rational(1, 100)), r))) continue;
            tally.Failed++;
            tally.First ??= new StepFailure(tally.Checked,
                line[tokens[left.From].Start..tokens[right.To - 1].End].Trim(),
                line[tokens[right.From].Start..tokens[right.To - 1].End].Trim(),
                l.Value.ToString());
        }
    }

    /// <summary>Whether the value of <paramref name="computed"/> is what <paramref name="written"/> says.</summary>
    static bool Holds(Side computed, Side written)
    {
        if (computed.Value == written.Value) return true;
        if (written.Literal is { } lit && Matches(computed.Value, lit.Value, lit.Decimals)) return true;
        if (written.Literal is { IsPercent: true } pct && Matches(computed.Value, pct.Value * new Rational(100, 1), pct.Decimals)) return true;
        // A running total: "3 * 4 = 12 + 2 = 14" writes 3 * 4 = 12, then goes on from 12.
        return !written.IsLiteral && written.Leading is { } lead && Matches(computed.Value, lead.Value, lead.Decimals);
    }

    /// <summary>
    /// Exactly, or rounded or cut to the written decimals; a whole number written for a fraction only when the value is
    /// at least 1 ("7/2 = 3" people, not "0.6 = 1").
    /// </summary>
    static bool Matches(Rational value, Rational written, int decimals) =>
        value == written || (decimals > 0 || value.Numerator.Sign * value.Numerator >= value.Denominator)
            && (value.Round(decimals) == written || value.Truncate(decimals) == written);

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

    /// <summary>A number as written: its value (percent applied), its decimals, whether it carried % or a currency sign.</summary>
    sealed record Literal(Rational Value, int Decimals, bool IsPercent, bool IsCurrency);

    /// <summary>One side of an equality, evaluated.</summary>
    sealed class Side
    {
        public Rational Value;
        public bool HasOperator;
        /// <summary>The side is one number (units and currency aside).</summary>
        public Literal? Literal;
        public bool IsLiteral => Literal is not null;
        /// <summary>The first number when the side starts with one (for running totals).</summary>
        public Literal? Leading;
        public bool HasPercent;

        public Side Scaled(Rational factor) => new() { Value = Value * factor, HasOperator = HasOperator, HasPercent = HasPercent };

        public static Side? Read(List<Token> tokens, int from, int to)
        {
            var math = new List<Token>();
            for (int i = from; i < to; i++)
                if (tokens[i].Kind != Kind.Word) math.Add(tokens[i]);
            if (math.Count == 0) return null;
            var parser = new Parser(math);
            Rational? value;
            try { value = parser.Expression(); }
            catch (DivideByZeroException) { return null; }
            if (value is not { } v || parser.Position != math.Count || v.IsTooLarge) return null;
            var side = new Side { Value = v, HasOperator = math.Any(t => t.Kind is Kind.Op or Kind.Frac || t.Computed) || math.Skip(1).Any(t => t.Kind == Kind.LParen), HasPercent = math.Any(t => t.Kind == Kind.Percent) };
            if (math[0].Kind == Kind.Num)
            {
                bool percent = math.Count > 1 && math[1].Kind == Kind.Percent;
                side.Leading = new Literal(percent ? math[0].Value / new Rational(100, 1) : math[0].Value, math[0].Decimals, percent, math[0].Currency);
                if (math.Count == (percent ? 2 : 1)) side.Literal = side.Leading;
            }
            return side;
        }
    }

    /// <summary>Recursive descent over +, -, *, /, ^, %, parentheses, \frac and implicit multiplication before "(".</summary>
    sealed class Parser(List<Token> t)
    {
        public int Position;

        bool IsOp(char op) => Position < t.Count && t[Position].Kind == Kind.Op && t[Position].Op == op;

        public Rational? Expression()
        {
            var value = Term();
            while (value is { } v && (IsOp('+') || IsOp('-')))
            {
                char op = t[Position++].Op;
                if (Term() is not { } right) return null;
                value = op == '+' ? v + right : v - right;
            }
            return value;
        }

        Rational? Term()
        {
            var value = Unary();
            while (value is { } v)
            {
                if (IsOp('*') || IsOp('/'))
                {
                    char op = t[Position++].Op;
                    if (Unary() is not { } right) return null;
                    value = op == '*' ? v * right : v / right;
                }
                else if (Position < t.Count && t[Position].Kind is Kind.LParen or Kind.Frac)
                {
                    if (Unary() is not { } right) return null;
                    value = v * right;
                }
                else break;
            }
            return value;
        }

        Rational? Unary()
        {
            if (IsOp('-')) { Position++; return Unary() is { } v ? -v : null; }
            if (IsOp('+')) { Position++; return Unary(); }
            var value = Postfix();
            if (value is { } b && IsOp('^'))
            {
                Position++;
                if (Unary() is not { } e) return null;
                var p = Rational.Power(b, e);
                return p is { IsTooLarge: false } ? p : null;
            }
            return value;
        }

        Rational? Postfix()
        {
            var value = Primary();
            while (value is { } v && Position < t.Count && t[Position].Kind == Kind.Percent)
            {
                Position++;
                value = v / new Rational(100, 1);
            }
            return value;
        }

        Rational? Primary()
        {
            if (Position >= t.Count) return null;
            var token = t[Position];
            switch (token.Kind)
            {
                case Kind.Num:
                    Position++;
                    return token.Value;
                case Kind.LParen:
                    return Group();
                case Kind.Frac:
                    Position++;
                    if (Group() is not { } num || Group() is not { } den) return null;
                    return num / den;
                default:
                    return null;
            }
        }

        Rational? Group()
        {
            if (Position >= t.Count || t[Position].Kind != Kind.LParen) return null;
            Position++;
            var value = Expression();
            if (Position >= t.Count || t[Position].Kind != Kind.RParen) return null;
            Position++;
            return value;
        }
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

    static List<Token> Tokenize(string s)
    {
        var tokens = new List<Token>();
        int i = 0;
        bool currency = false;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '$' or '€' or '£')
            {
                // "$2" is money (its unit); a "$" before anything else delimits LaTeX math.
                i++;
                if (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))) currency = true;
                continue;
            }
            if (char.IsAsciiDigit(c) || c == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]) && !(i > 0 && char.IsAsciiDigit(s[i - 1])))
            {
                int start = i;
                var digits = new System.Text.StringBuilder();
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    digits.Append(s[i++]);
                    // Thousands separators: ",ddd" not followed by another digit.
                    if (i < s.Length && s[i] == ',' && HasGroup(s, i + 1)) i++;
                }
                int decimals = 0;
                if (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
                {
                    digits.Append(s[i++]);
                    while (i < s.Length && char.IsAsciiDigit(s[i])) { digits.Append(s[i++]); decimals++; }
                }
                var text = digits.ToString();
                if (text.Length > 300) { tokens.Add(new Token(Kind.Stop, start, i)); continue; }
                var value = Rational.ParseDecimal(text);
                // "25 / 1/3": a fraction written tight after a division is one number (25 ÷ ⅓).
                if (decimals == 0 && tokens.Count > 0 && tokens[^1] is { Kind: Kind.Op, Op: '/' } && i + 1 < s.Length && s[i] == '/' && char.IsAsciiDigit(s[i + 1]))
                {
                    int d = ++i;
                    while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                    var den = Rational.ParseDecimal(s[d..i]);
                    if (den == Rational.Zero || i - d > 300) { tokens.Add(new Token(Kind.Stop, start, i)); continue; }
                    value /= den;
                }
                tokens.Add(new Token(Kind.Num, start, i, Value: value, Decimals: decimals, Currency: currency));
                currency = false;
                // "2x", "5th": a letter stuck to a number makes it algebra or an ordinal, not arithmetic; "10ml" is a
                // unit; "60/large": a rate.
                if (i < s.Length && char.IsAsciiLetter(s[i]))
                {
                    int w = i;
                    while (i < s.Length && (char.IsAsciiLetter(s[i]) || s[i] == '/' && i + 1 < s.Length && char.IsAsciiLetter(s[i + 1]))) i++;
                    var stuck = s[w..i];
                    if (stuck == "x" && i < s.Length && char.IsAsciiDigit(s[i])) tokens.Add(new Token(Kind.Op, w, i, '*'));   // "15x2"
                    else tokens.Add(new Token(stuck == "k" || stuck.Length > 1 && stuck is not ("st" or "nd" or "rd" or "th")
                        ? Kind.Word : Kind.Var, w, i));
                }
                else if (i + 1 < s.Length && s[i] == '/' && char.IsAsciiLetter(s[i + 1]))
                {
                    int w = i++;
                    while (i < s.Length && (char.IsAsciiLetter(s[i]) || s[i] == '/')) i++;
                    tokens.Add(new Token(Kind.Word, w, i));
                }
                // "7:50", "3:2": a time or a ratio; "16,0000": a mistyped number. Neither is arithmetic.
                if (i + 1 < s.Length && s[i] is ':' or ',' && char.IsAsciiDigit(s[i + 1])) tokens.Add(new Token(Kind.Var, i, ++i));
                continue;
            }
            switch (c)
            {
                case '+': tokens.Add(new Token(Kind.Op, i, ++i, '+')); continue;
                case '-' or '\u2212' or '\u2013': tokens.Add(new Token(Kind.Op, i, ++i, '-')); continue;   // hyphen, minus sign, en dash
                case '*' or '×' or '·' or '\u22C5': tokens.Add(new Token(Kind.Op, i, ++i, '*')); continue;
                case '/' or '÷': tokens.Add(new Token(Kind.Op, i, ++i, '/')); continue;
                case '^': tokens.Add(new Token(Kind.Op, i, ++i, '^')); continue;
                case '(' or '[' or '{': tokens.Add(new Token(Kind.LParen, i, ++i)); continue;
                case ')' or ']' or '}': tokens.Add(new Token(Kind.RParen, i, ++i)); continue;
                case '%': tokens.Add(new Token(Kind.Percent, i, ++i)); continue;
                case '=':
                    {
                        int start = i;
                        bool compound = i > 0 && s[i - 1] is '<' or '>' or '!';
                        while (i < s.Length && s[i] == '=') i++;
                        tokens.Add(new Token(compound ? Kind.Stop : Kind.Eq, start, i));
                        continue;
                    }
                case '\\':
                    i = Command(s, i, tokens);
                    continue;
                case '_' when tokens.Count > 0 && tokens[^1].End == i && tokens[^1].Kind is Kind.Word or Kind.Var:
                    {
                        // a_1, na_{12}: a subscripted name is a variable, its subscript part of it.
                        int end = i + 1;
                        if (end < s.Length && s[end] == '{') end = Close(s, end, '{', '}');
                        else while (end < s.Length && char.IsAsciiLetterOrDigit(s[end])) end++;
                        tokens[^1] = new Token(Kind.Var, tokens[^1].Start, end);
                        i = end;
                        continue;
                    }
            }
            if (char.IsAsciiLetter(c))
            {
                int start = i;
                // "snakes/jaguar", "ml/liter": one unit word; "that's", "t-shirts" one word.
                while (i < s.Length && (char.IsAsciiLetter(s[i]) || s[i] is '/' or '\'' or '’' or '-' && i + 1 < s.Length && char.IsAsciiLetter(s[i + 1]) && i > start)) i++;
                var word = s[start..i];
                var prev = tokens.Count > 0 ? tokens[^1].Kind : Kind.Stop;
                int next = i;
                while (next < s.Length && s[next] == ' ') next++;
                bool valueBefore = prev is Kind.Num or Kind.RParen or Kind.Percent or Kind.Word;
                bool valueAfter = next < s.Length && (char.IsAsciiDigit(s[next]) || s[next] is '(' or '$' or '.' && next + 1 < s.Length && char.IsAsciiDigit(s[next + 1]));
                if (word == "x" && valueBefore && valueAfter) tokens.Add(new Token(Kind.Op, start, i, '*'));
                else if (WordOperator(word) is { } op && prev is Kind.Num or Kind.RParen or Kind.Percent)
                {
                    // "divided by", "multiplied by": the "by" belongs to the operator.
                    if (word is "divided" or "multiplied" && s.AsSpan(next).StartsWith("by ")) i = next + 2;
                    tokens.Add(op == '=' ? new Token(Kind.Eq, start, i) : new Token(Kind.Op, start, i, op));
                }
                else if (word == "of" && prev == Kind.Percent && valueAfter) tokens.Add(new Token(Kind.Op, start, i, '*'));
                else if (word.Length == 1 && word is not ("a" or "A" or "I")) tokens.Add(new Token(Kind.Var, start, i));
                else tokens.Add(new Token(Kind.Word, start, i));
                continue;
            }
            tokens.Add(new Token(Kind.Stop, i, ++i));
        }
        return tokens;
    }

    /// <summary>"12 plus 13 equals 25", "150 divided by 5", "12 times 12": operators written as words, between values.</summary>
    static char? WordOperator(string word) => word switch
    {
        "plus" => '+',
        "minus" => '-',
        "times" or "multiplied" => '*',
        "divided" => '/',
        "equals" => '=',
        _ => null,
    };

    static bool HasGroup(string s, int at) =>
        at + 3 <= s.Length && char.IsAsciiDigit(s[at]) && char.IsAsciiDigit(s[at + 1]) && char.IsAsciiDigit(s[at + 2])
        && (at + 3 == s.Length || !char.IsAsciiDigit(s[at + 3]));

    /// <summary>A LaTeX command at <paramref name="i"/>: operators, \frac, spacing and delimiters; anything else stops a side.</summary>
    static int Command(string s, int i, List<Token> tokens)
    {
        int start = i++;
        if (i < s.Length && !char.IsAsciiLetter(s[i]))
        {
            char c = s[i++];
            if (c == '%') tokens.Add(new Token(Kind.Percent, start, i));
            else if (c is not ('$' or ',' or ';' or '!' or ' ' or '(' or ')' or '[' or ']' or '{' or '}')) tokens.Add(new Token(Kind.Stop, start, i));
            else if (c is '{') tokens.Add(new Token(Kind.LParen, start, i));
            else if (c is '}') tokens.Add(new Token(Kind.RParen, start, i));
            return i;
        }
        while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
        switch (s[(start + 1)..i])
        {
            case "times" or "cdot": tokens.Add(new Token(Kind.Op, start, i, '*')); break;
            case "div": tokens.Add(new Token(Kind.Op, start, i, '/')); break;
            case "frac" or "dfrac" or "tfrac":
                // 4\dfrac{5}{8}: a mixed number, 4 + 5/8 (not 4 × 5/8).
                if (tokens.Count > 0 && tokens[^1] is { Kind: Kind.Num, Decimals: 0 } whole && whole.End == start && whole.Value.Numerator.Sign >= 0
                    && IntegerArguments(s, i, 2) is { Values: [var p, var q], End: var end } && q != 0)
                {
                    tokens[^1] = whole with { End = end, Value = whole.Value + new Rational(p, q), Computed = true };
                    return end;
                }
                tokens.Add(new Token(Kind.Frac, start, i));
                break;
            case "sqrt":
                {
                    // \sqrt{144} = 12, \sqrt[3]{64} = 4: a perfect power of a written integer; any other root is unreadable.
                    int degree = 2, at = i;
                    if (at < s.Length && s[at] == '[' && IntegerGroup(s, at, '[', ']') is { Value: var d, End: var afterDegree } && d >= 2 && d <= 10)
                        (degree, at) = ((int)d, afterDegree);
                    if (IntegerArguments(s, at, 1) is { Values: [var radicand], End: var after } && radicand >= 0 && ExactRoot(radicand, degree) is { } root)
                    {
                        tokens.Add(new Token(Kind.Num, start, after, Value: new Rational(root, 1), Computed: true));
                        return after;
                    }
                    return Unreadable(s, start, i, tokens);
                }
            case "binom" or "dbinom" or "tbinom" or "choose" when IntegerArguments(s, i, 2) is { Values: [var n, var k], End: var afterArgs } && n >= 0 && k >= 0 && n <= 1000:
                tokens.Add(new Token(Kind.Num, start, afterArgs, Value: new Rational(Binomial(n, k), 1), Computed: true));
                return afterArgs;
            case "left" or "right" or "boxed" or "quad" or "qquad": break;
            case "text" or "mbox" or "textbf" or "mathrm":
                // \text{eggs}: a unit word.
                if (i < s.Length && s[i] == '{')
                {
                    int close = s.IndexOf('}', i);
                    if (close > 0) { tokens.Add(new Token(Kind.Word, start, close + 1)); return close + 1; }
                }
                tokens.Add(new Token(Kind.Stop, start, i));
                break;
            default:
                return Unreadable(s, start, i, tokens);
        }
        return i;
    }

    /// <summary>
    /// A command the checker does not evaluate (\log_2, \pi, \overline, a root that is not a perfect power): the
    /// command with its subscript, superscript and braced or bracketed arguments is one unreadable token, so the side
    /// holding it is skipped — its braces are never read as a product.
    /// </summary>
    static int Unreadable(string s, int start, int i, List<Token> tokens)
    {
        while (i < s.Length)
        {
            if (s[i] is '_' or '^')
            {
                i++;
                if (i < s.Length && s[i] == '{') i = Close(s, i, '{', '}');
                else if (i < s.Length && s[i] == '\\') { i++; while (i < s.Length && char.IsAsciiLetter(s[i])) i++; }
                else if (i < s.Length) i++;
            }
            else if (s[i] == '{') i = Close(s, i, '{', '}');
            else if (s[i] == '[') i = Close(s, i, '[', ']');
            else break;
        }
        tokens.Add(new Token(Kind.Var, start, i));
        return i;
    }

    /// <summary>The index after the bracket that closes the one at <paramref name="at"/> (the end of the text if none does).</summary>
    static int Close(string s, int at, char open, char close)
    {
        int depth = 0;
        for (int i = at; i < s.Length; i++)
        {
            if (s[i] == open) depth++;
            else if (s[i] == close && --depth == 0) return i + 1;
        }
        return s.Length;
    }

    /// <summary><c>{12}{5}</c>: <paramref name="count"/> braced integer literals right at <paramref name="at"/>, else null.</summary>
    static (System.Numerics.BigInteger[] Values, int End)? IntegerArguments(string s, int at, int count)
    {
        var values = new System.Numerics.BigInteger[count];
        for (int k = 0; k < count; k++)
        {
            if (IntegerGroup(s, at, '{', '}') is not { } group) return null;
            (values[k], at) = (group.Value, group.End);
        }
        return (values, at);
    }

    static (System.Numerics.BigInteger Value, int End)? IntegerGroup(string s, int at, char open, char close)
    {
        if (at >= s.Length || s[at] != open) return null;
        int end = s.IndexOf(close, at + 1);
        if (end < 0) return null;
        var inner = s[(at + 1)..end].Trim();
        if (inner.Length == 0 || inner.Length > 30 || !inner.All(char.IsAsciiDigit)) return null;
        return (System.Numerics.BigInteger.Parse(inner, System.Globalization.CultureInfo.InvariantCulture), end + 1);
    }

    /// <summary>The integer <paramref name="degree"/>-th root of <paramref name="n"/> when it is exact, else null.</summary>
    static System.Numerics.BigInteger? ExactRoot(System.Numerics.BigInteger n, int degree)
    {
        var root = new System.Numerics.BigInteger(Math.Round(Math.Pow((double)n, 1.0 / degree)));
        for (var r = System.Numerics.BigInteger.Max(0, root - 1); r <= root + 1; r++)
            if (System.Numerics.BigInteger.Pow(r, degree) == n) return r;
        return null;
    }

    static System.Numerics.BigInteger Binomial(System.Numerics.BigInteger n, System.Numerics.BigInteger k)
    {
        if (k > n) return 0;
        if (k > n - k) k = n - k;
        System.Numerics.BigInteger result = 1;
        for (System.Numerics.BigInteger j = 1; j <= k; j++) result = result * (n - k + j) / j;
        return result;
    }
}
