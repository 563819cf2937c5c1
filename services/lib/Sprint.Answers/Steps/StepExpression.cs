using static Sprint.Answers.StepLexer;

namespace Sprint.Answers;

// Exact evaluation of one side of a written step: the tokens StepLexer read, parsed by recursive descent into a
// Rational (never a float), with what the tolerance rules need to know about how the side was written.

/// <summary>A number as written: its value (percent applied), its decimals, whether it carried % or a currency sign.</summary>
internal sealed record WrittenNumber(Rational Value, int Decimals, bool IsPercent, bool IsCurrency);

/// <summary>One side of an equality, evaluated.</summary>
internal sealed class StepSide
{
    public Rational Value;
    public bool HasOperator;
    /// <summary>The side is one number (units and currency aside).</summary>
    public WrittenNumber? Literal;
    public bool IsLiteral => Literal is not null;
    /// <summary>The first number when the side starts with one (for running totals).</summary>
    public WrittenNumber? Leading;
    public bool HasPercent;

    public StepSide Scaled(Rational factor) => new() { Value = Value * factor, HasOperator = HasOperator, HasPercent = HasPercent };

    public static StepSide? Read(List<Token> tokens, int from, int to)
    {
        var math = new List<Token>();
        for (int i = from; i < to; i++)
            if (tokens[i].Kind != Kind.Word) math.Add(tokens[i]);
        if (math.Count == 0) return null;
        var parser = new StepParser(math);
        Rational? value;
        try { value = parser.Expression(); }
        catch (DivideByZeroException) { return null; }
        if (value is not { } v || parser.Position != math.Count || v.IsTooLarge) return null;
        var side = new StepSide { Value = v, HasOperator = math.Any(t => t.Kind is Kind.Op or Kind.Frac || t.Computed) || math.Skip(1).Any(t => t.Kind == Kind.LParen), HasPercent = math.Any(t => t.Kind == Kind.Percent) };
        if (math[0].Kind == Kind.Num)
        {
            bool percent = math.Count > 1 && math[1].Kind == Kind.Percent;
            side.Leading = new WrittenNumber(percent ? math[0].Value / new Rational(100, 1) : math[0].Value, math[0].Decimals, percent, math[0].Currency);
            if (math.Count == (percent ? 2 : 1)) side.Literal = side.Leading;
        }
        return side;
    }
}

/// <summary>Recursive descent over +, -, *, /, ^, %, parentheses, \frac and implicit multiplication before "(".</summary>
internal sealed class StepParser(List<Token> t)
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

/// <summary>The exact integer functions competition LaTeX writes: perfect roots and binomials (bounded by the lexer).</summary>
internal static class ExactArithmetic
{
    /// <summary>The integer <paramref name="degree"/>-th root of <paramref name="n"/> when it is exact, else null.</summary>
    internal static System.Numerics.BigInteger? ExactRoot(System.Numerics.BigInteger n, int degree)
    {
        var root = new System.Numerics.BigInteger(Math.Round(Math.Pow((double)n, 1.0 / degree)));
        for (var r = System.Numerics.BigInteger.Max(0, root - 1); r <= root + 1; r++)
            if (System.Numerics.BigInteger.Pow(r, degree) == n) return r;
        return null;
    }

    internal static System.Numerics.BigInteger Binomial(System.Numerics.BigInteger n, System.Numerics.BigInteger k)
    {
        if (k > n) return 0;
        if (k > n - k) k = n - k;
        System.Numerics.BigInteger result = 1;
        for (System.Numerics.BigInteger j = 1; j <= k; j++) result = result * (n - k + j) / j;
        return result;
    }
}
