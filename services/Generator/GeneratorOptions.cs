namespace Sprint.Generator;

/// <summary>Configuration section "Generator".</summary>
public sealed class GeneratorOptions
{
    public const string Section = "Generator";

    /// <summary>Hugging Face model folder (config.json, safetensors, tokenizer).</summary>
    public string Model { get; set; } = "models/sprint-tiny-math";
    /// <summary>Compute dtype: float32, bfloat16 or float16.</summary>
    public string DType { get; set; } = "float32";
    /// <summary>safetensors (the folder's weights) or dummy (random weights of config.json's shapes, for benchmarks).</summary>
    public string LoadFormat { get; set; } = "safetensors";
    /// <summary>libtorch intra-op threads; 0 takes cores − 1 (at least 1).</summary>
    public int Threads { get; set; }
    /// <summary>System turn of the chat template; empty for none (the shipped model is trained without one).</summary>
    public string? SystemPrompt { get; set; }
    public int DefaultMaxNewTokens { get; set; } = Sprint.Core.Defaults.MaxNewTokens;
    /// <summary>
    /// After a sequence's first token (always sent at once), its tokens are sent together at most once per this
    /// interval: fewer messages per hop under load. Zero sends every token in its own message.
    /// </summary>
    public TimeSpan StreamInterval { get; set; } = TimeSpan.FromMilliseconds(20);
    /// <summary>Rows decoding together (8 Solves of 8 candidates at once).</summary>
    public int MaxConcurrentSequences { get; set; } = 64;
    /// <summary>KV-cache budget in tokens; 0 takes MaxConcurrentSequences × the context length.</summary>
    public long MaxBatchTokens { get; set; }
    /// <summary>Sequences waiting for a batch row beyond this are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxQueuedSequences { get; set; } = 256;
}
