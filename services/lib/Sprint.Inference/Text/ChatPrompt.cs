namespace Sprint.Inference.Text;

/// <summary>ChatML prompts as Qwen chat models expect them (<c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;</c>).</summary>
public static class ChatPrompt
{
    public const string DefaultSystemPrompt = "You are a helpful assistant.";

    /// <summary>A system turn (omitted when <paramref name="systemPrompt"/> is null or empty), the user turn, and the open assistant turn.</summary>
    public static string Format(string user, string? systemPrompt = DefaultSystemPrompt)
    {
        var system = string.IsNullOrEmpty(systemPrompt) ? "" : $"<|im_start|>system\n{systemPrompt}<|im_end|>\n";
        return $"{system}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n";
    }
}
