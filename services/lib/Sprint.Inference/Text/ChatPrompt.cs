namespace Sprint.Inference.Text;

/// <summary>
/// ChatML as Qwen chat models expect it (<c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;</c>): the one place its tokens
/// are written, for prompts (the generator, the encoder, the evaluators) and for training (the trainers and the
/// tokenizer's chat template).
/// </summary>
public static class ChatPrompt
{
    public const string ImStart = "<|im_start|>", ImEnd = "<|im_end|>", EndOfText = "<|endoftext|>";

    /// <summary>A system turn (omitted when <paramref name="systemPrompt"/> is null or empty), the user turn, and the open assistant turn.</summary>
    public static string Format(string user, string? systemPrompt)
    {
        var system = string.IsNullOrEmpty(systemPrompt) ? "" : $"{ImStart}system\n{systemPrompt}{ImEnd}\n";
        return $"{system}{ImStart}user\n{user}{ImEnd}\n{ImStart}assistant\n";
    }

    /// <summary>The same format as a Hugging Face chat template (tokenizer_config.json), for the trained tokenizer.</summary>
    public const string HfTemplate = "{% for message in messages %}{{'" + ImStart + "' + message['role'] + '\\n' + message['content'] + '" + ImEnd +
        "' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '" + ImStart + "assistant\\n' }}{% endif %}";
}
