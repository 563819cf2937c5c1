using System.Text;

namespace Sprint.Core;

/// <summary>
/// Client text inside an error message or a log line — the one quoting rule for echoed values: a short prefix with
/// control characters, lone surrogates and the line/paragraph separators U+2028/U+2029 escaped.
/// </summary>
public static class Quote
{
    public const int MaxChars = 64;

    public static string Short(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var b = new StringBuilder(Math.Min(text.Length, MaxChars) + 8);
        foreach (var c in text.Length > MaxChars ? text[..MaxChars] : text)
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029') b.Append($"\\u{(int)c:x4}");   // line and paragraph separators break JSON-in-JS and log lines too
            else b.Append(c);
        if (text.Length > MaxChars) b.Append($"… ({text.Length} chars)");
        return b.ToString();
    }
}
