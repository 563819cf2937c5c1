using System.Text;

namespace Sprint.Core;

/// <summary>Client text inside an error message or a log line: a short prefix with control characters escaped.</summary>
public static class Quote
{
    public const int MaxChars = 64;

    public static string Short(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var b = new StringBuilder(Math.Min(text.Length, MaxChars) + 8);
        foreach (var c in text.Length > MaxChars ? text[..MaxChars] : text)
            if (char.IsControl(c) || char.IsSurrogate(c)) b.Append($"\\u{(int)c:x4}");
            else b.Append(c);
        if (text.Length > MaxChars) b.Append($"… ({text.Length} chars)");
        return b.ToString();
    }
}
