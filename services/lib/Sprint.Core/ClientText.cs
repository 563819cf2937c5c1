using System.Text;

namespace Sprint.Core;

/// <summary>Text a client sends (a question, a prompt, a text to embed): the one rule for what the services accept.</summary>
public static class ClientText
{
    /// <summary>
    /// The text trimmed and in Unicode NFC, as it is hashed, encoded and tokenized. Text that Unicode
    /// normalization refuses (a noncharacter such as U+FFFE, an unpaired surrogate) is an
    /// <see cref="InvalidFieldException"/> for <paramref name="field"/>.
    /// </summary>
    public static string Normalized(string text, string field)
    {
        try { return text.Trim().Normalize(NormalizationForm.FormC); }
        catch (ArgumentException)
        {
            int at = 0;
            while (at < text.Length && IsValid(text, at)) at += char.IsHighSurrogate(text[at]) ? 2 : 1;
            string what = at < text.Length ? $"U+{(int)text[at]:X4} at index {at}" : "a code point";
            throw new InvalidFieldException(field, $"is not valid Unicode text ({what} cannot be normalized)");
        }
    }

    /// <summary>The size rule for client text, in UTF-8 bytes: beyond <paramref name="limit"/> an <see cref="InvalidFieldException"/> for <paramref name="field"/>.</summary>
    public static void CheckSize(string text, string field, int limit)
    {
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > limit) throw new InvalidFieldException(field, $"{bytes} bytes exceeds the {limit}-byte limit");
    }

    static bool IsValid(string text, int i)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c)) return i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return false;
        return c != '\uFFFE';   // what .NET's normalization refuses besides unpaired surrogates
    }
}
