using System.Globalization;
using System.Text.RegularExpressions;

namespace Sprint.Answers;

/// <summary>
/// Normalises answers in the tradition of the Hendrycks MATH <c>is_equiv</c> (<c>strip_string</c>): spaces,
/// <c>\left</c>/<c>\right</c>, <c>\!</c>, <c>\text{…}</c> units, <c>dfrac</c>/<c>tfrac</c>, <c>\frac12</c>, <c>a/b</c>,
/// trailing <c>.0</c>, degrees, percent, a leading <c>x =</c>, thousands separators.
/// </summary>
public static partial class AnswerNormalizer
{
    public static string Normalize(string answer)
    {
        var s = answer.Trim();
        s = s.Replace("\n", "").Replace("\\!", "").Replace("\\\\", "\\");
        s = s.Replace("tfrac", "frac").Replace("dfrac", "frac");
        s = s.Replace("\\left", "").Replace("\\right", "");
        s = s.Replace("^{\\circ}", "").Replace("^\\circ", "").Replace("°", "");
        s = s.Replace("\\$", "").Replace("$", "");
        s = TextUnits().Replace(s, "");
        s = TextWrapper().Replace(s, "$1");
        s = s.Replace("\\%", "").Replace("%", "");
        s = s.Replace("\\,", "").Replace("\\;", "").Replace("\\ ", "");
        s = s.Replace(" .", " 0.").Replace("{.", "{0.");
        if (s.StartsWith('.')) s = "0" + s;
        s = LeadingVariable().Replace(s, "");
        s = s.Replace(" ", "");
        s = FixFracs(s);
        s = FixSqrt(s);
        if (s == "0.5") s = "\\frac{1}{2}";
        s = SimpleSlash().Replace(s, "\\frac{$1}{$2}");
        s = ThousandsCommas().IsMatch(s) ? s.Replace(",", "") : s;
        s = TrailingZeros().Replace(s, "$1");
        s = s.TrimEnd('.');
        return s;
    }

    /// <summary>Reads a plain number or a numeric <c>\frac{a}{b}</c>.</summary>
    public static bool TryNumber(string normalized, out double value)
    {
        if (double.TryParse(normalized, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        var m = NumericFrac().Match(normalized);
        if (m.Success && double.TryParse(m.Groups[2].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var num)
            && double.TryParse(m.Groups[3].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var den) && den != 0)
        {
            value = (m.Groups[1].Value == "-" ? -1 : 1) * num / den;
            return true;
        }
        return false;
    }

    /// <summary><c>\frac12</c> → <c>\frac{1}{2}</c>, <c>\frac1{2}</c> → <c>\frac{1}{2}</c>.</summary>
    static string FixFracs(string s)
    {
        var parts = s.Split("\\frac");
        if (parts.Length == 1) return s;
        var result = new System.Text.StringBuilder(parts[0]);
        foreach (var part in parts.Skip(1))
        {
            result.Append("\\frac");
            if (part.Length > 0 && part[0] == '{') { result.Append(part); continue; }
            if (part.Length < 2) { result.Append(part); continue; }
            char a = part[0], b = part[1];
            if (b != '{') result.Append('{').Append(a).Append("}{").Append(b).Append('}').Append(part[2..]);
            else result.Append('{').Append(a).Append('}').Append(part[1..]);
        }
        return result.ToString();
    }

    /// <summary><c>\sqrt3</c> → <c>\sqrt{3}</c>.</summary>
    static string FixSqrt(string s) => SqrtBare().Replace(s, "\\sqrt{$1}");

    // Units after a value ("5\text{ cm}"); a whole answer like "\text{east}" is kept.
    [GeneratedRegex(@"(?<=[\d}.)])\s*\\(?:text|mbox)\{\s*(?:[a-zA-Z]+\s*)+\}\s*$")]
    private static partial Regex TextUnits();

    [GeneratedRegex(@"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")]
    private static partial Regex TextWrapper();

    [GeneratedRegex(@"^[a-zA-Z]\s*=\s*")]
    private static partial Regex LeadingVariable();

    [GeneratedRegex(@"^(-?\d+)/(\d+)$")]
    private static partial Regex SimpleSlash();

    [GeneratedRegex(@"^-?\d{1,3}(,\d{3})+(\.\d+)?$")]
    private static partial Regex ThousandsCommas();

    [GeneratedRegex(@"^(-?\d+)\.0+$")]
    private static partial Regex TrailingZeros();

    [GeneratedRegex(@"^(-?)\\frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}$")]
    private static partial Regex NumericFrac();

    [GeneratedRegex(@"\\sqrt(\w)")]
    private static partial Regex SqrtBare();
}
