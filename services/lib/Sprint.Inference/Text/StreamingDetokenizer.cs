using System.Text;

namespace Sprint.Inference.Text;

/// <summary>
/// Turns a stream of token ids into text deltas that never split a UTF-8 character: bytes of a character that
/// spans tokens are held until the character is complete (invalid sequences become U+FFFD, as in Hugging Face).
/// </summary>
public sealed class StreamingDetokenizer(HfTokenizer tokenizer, bool skipSpecialTokens = false)
{
    readonly Decoder decoder = Encoding.UTF8.GetDecoder();
    char[] buffer = new char[64];

    public string Push(int tokenId)
    {
        if (skipSpecialTokens && tokenizer.SpecialTokenIds.Contains(tokenId)) return "";
        return Convert(tokenizer.TokenBytes(tokenId), flush: false);
    }

    /// <summary>Whatever is still held back (an incomplete character becomes U+FFFD).</summary>
    public string Flush() => Convert([], flush: true);

    string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = decoder.GetCharCount(bytes, flush);
        if (needed > buffer.Length) buffer = new char[Math.Max(needed, buffer.Length * 2)];
        int n = decoder.GetChars(bytes, buffer, flush);
        return new string(buffer, 0, n);
    }
}
