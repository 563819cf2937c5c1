namespace Sprint.Answers;

/// <summary>
/// Reading a line of a solution as tokens: numbers as written (thousands separators, decimals, currency, a fraction
/// tight after a division), operators in symbols, words and LaTeX (<c>\times \cdot \div \frac</c>), perfect roots,
/// binomials and mixed numbers worked out exactly, units and prose as words, variables and every other LaTeX command
/// (with its arguments) as unreadable. What a step is and whether it holds are <see cref="StepChecker"/>'s and
/// <see cref="StepTolerance"/>'s.
/// </summary>
internal static class StepLexer
{
    internal enum Kind { Num, Op, LParen, RParen, Eq, Percent, Frac, Word, Var, Stop }

    /// <param name="Computed">A number the checker worked out from LaTeX (a root, a binomial, a mixed number): a side holding one computes.</param>
    internal readonly record struct Token(Kind Kind, int Start, int End, char Op = '\0', Rational Value = default, int Decimals = 0, bool Currency = false, bool Computed = false);

    internal static List<Token> Tokenize(string s)
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
                    if (IntegerArguments(s, at, 1) is { Values: [var radicand], End: var after } && radicand >= 0 && ExactArithmetic.ExactRoot(radicand, degree) is { } root)
                    {
                        tokens.Add(new Token(Kind.Num, start, after, Value: new Rational(root, 1), Computed: true));
                        return after;
                    }
                    return Unreadable(s, start, i, tokens);
                }
            case "binom" or "dbinom" or "tbinom" or "choose" when IntegerArguments(s, i, 2) is { Values: [var n, var k], End: var afterArgs } && n >= 0 && k >= 0 && n <= 1000:
                tokens.Add(new Token(Kind.Num, start, afterArgs, Value: new Rational(ExactArithmetic.Binomial(n, k), 1), Computed: true));
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
}
