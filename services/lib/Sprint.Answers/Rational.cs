using System.Globalization;
using System.Numerics;

namespace Sprint.Answers;

/// <summary>
/// An exact fraction (numerator and positive denominator in lowest terms) for recomputing written arithmetic: no
/// rounding ever enters a check, so <c>0.1 + 0.2 = 0.3</c> holds and <c>10/3</c> stays 10/3.
/// </summary>
public readonly record struct Rational
{
    /// <summary>Largest numerator or denominator a step may reach (bits); beyond it the step is left unchecked.</summary>
    public const int MaxBits = 4096;

    public BigInteger Numerator { get; }
    public BigInteger Denominator { get; }

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
        Numerator = numerator;
        Denominator = denominator.IsZero ? BigInteger.One : denominator;
    }

    public static Rational Zero { get; } = new(0, 1);
    public static Rational One { get; } = new(1, 1);
    public bool IsInteger => Denominator.IsOne;
    public bool IsTooLarge => Numerator.GetBitLength() > MaxBits || Denominator.GetBitLength() > MaxBits;

    public static Rational operator +(Rational a, Rational b) => new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a, Rational b) => new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);
    public static Rational operator *(Rational a, Rational b) => new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    /// <exception cref="DivideByZeroException">b is zero.</exception>
    public static Rational operator /(Rational a, Rational b) => new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    /// <summary>a^e for an integer exponent of at most <paramref name="maxExponent"/> in size; null otherwise (or 0^negative).</summary>
    public static Rational? Power(Rational a, Rational e, int maxExponent = 1024)
    {
        if (!e.IsInteger || BigInteger.Abs(e.Numerator) > maxExponent) return null;
        int k = (int)e.Numerator;
        if (k < 0 && a.Numerator.IsZero) return null;
        var up = new Rational(BigInteger.Pow(a.Numerator, Math.Abs(k)), BigInteger.Pow(a.Denominator, Math.Abs(k)));
        return k >= 0 ? up : One / up;
    }

    /// <summary>Parses plain decimal digits with an optional fraction part ("12", "0.25", ".5"); commas must already be removed.</summary>
    public static Rational ParseDecimal(string digits)
    {
        int dot = digits.IndexOf('.');
        if (dot < 0) return new Rational(BigInteger.Parse(digits, CultureInfo.InvariantCulture), 1);
        var whole = digits[..dot];
        var frac = digits[(dot + 1)..];
        var scale = BigInteger.Pow(10, frac.Length);
        var value = BigInteger.Parse((whole.Length == 0 ? "0" : whole) + frac, CultureInfo.InvariantCulture);
        return new Rational(value, scale);
    }

    /// <summary>The value rounded half away from zero to <paramref name="decimals"/> places.</summary>
    public Rational Round(int decimals)
    {
        var scale = BigInteger.Pow(10, decimals);
        var scaled = Numerator * scale;
        var q = BigInteger.DivRem(BigInteger.Abs(scaled) * 2 + Denominator, Denominator * 2, out _);
        return new Rational(scaled.Sign < 0 ? -q : q, scale);
    }

    /// <summary>The value cut toward zero to <paramref name="decimals"/> places.</summary>
    public Rational Truncate(int decimals)
    {
        var scale = BigInteger.Pow(10, decimals);
        return new Rational(BigInteger.Divide(Numerator * scale, Denominator), scale);
    }

    /// <summary>Exact when it terminates within 6 places, else rounded to 6 ("3.333333").</summary>
    public override string ToString()
    {
        if (IsInteger) return Numerator.ToString(CultureInfo.InvariantCulture);
        var r = Round(6);
        var whole = BigInteger.DivRem(BigInteger.Abs(r.Numerator) * BigInteger.Pow(10, 6) / r.Denominator, BigInteger.Pow(10, 6), out var frac);
        var digits = frac.ToString(CultureInfo.InvariantCulture).PadLeft(6, '0').TrimEnd('0');
        return $"{(r.Numerator.Sign < 0 ? "-" : "")}{whole}{(digits.Length > 0 ? "." + digits : "")}";
    }
}
