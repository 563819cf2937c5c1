using System.Text.RegularExpressions;

namespace Sprint.Answers;

/// <summary>
/// Finds the final answer in a solution: the last <c>\boxed{…}</c> / <c>\fbox{…}</c> (nested braces, or
/// <c>\boxed 5</c>), else the GSM8K <c>#### n</c> line, else the last "the answer is …".
/// </summary>
public static partial class AnswerExtractor
{
    public static string? Extract(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        return LastBoxed(text) ?? GsmAnswer(text) ?? AnswerIsPhrase(text);
    }

    /// <summary>The content of the last <c>\boxed</c> or <c>\fbox</c>, braces balanced; null if none is complete.</summary>
    public static string? LastBoxed(string text)
    {
        int at = Math.Max(text.LastIndexOf("\\boxed", StringComparison.Ordinal), text.LastIndexOf("\\fbox", StringComparison.Ordinal));
        if (at < 0) return null;
        int i = at + (string.CompareOrdinal(text, at, "\\boxed", 0, 6) == 0 ? 6 : 5);
        int start = i;
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        if (i < text.Length && text[i] != '{')
        {
            // "\boxed 5": without braces the argument runs from the space to the next "$" or whitespace.
            if (i == start) return null;   // "\boxedx" is another command
            int end = i;
            while (end < text.Length && text[end] != '$' && !char.IsWhiteSpace(text[end])) end++;
            return end > i ? text[i..end] : null;
        }
        if (i >= text.Length) return null;
        int depth = 0;
        for (int j = i; j < text.Length; j++)
        {
            if (text[j] == '{') depth++;
            else if (text[j] == '}' && --depth == 0) return text[(i + 1)..j];
        }
        return null;
    }

    static string? GsmAnswer(string text)
    {
        var m = GsmPattern().Matches(text);
        return m.Count == 0 ? null : m[^1].Groups[1].Value.Trim();
    }

    static string? AnswerIsPhrase(string text)
    {
        var m = AnswerIsPattern().Matches(text);
        if (m.Count == 0) return null;
        var answer = m[^1].Groups[1].Value.Trim().TrimEnd('.').Trim();
        return answer.Length > 0 ? answer.Trim('$').Trim() : null;
    }

    [GeneratedRegex(@"####\s*([^\n]+)")]
    private static partial Regex GsmPattern();

    [GeneratedRegex(@"answer is[:\s]*\$?([^\n$]+?)\$?\s*(?:\.\s*$|\.?\s*\n|$)", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerIsPattern();
}
