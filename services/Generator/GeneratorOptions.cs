namespace Sprint.Generator;

/// <summary>Configuration section "Generator": the model (<see cref="Inference.ModelHostOptions"/>) and the batch.</summary>
public sealed class GeneratorOptions : Inference.ModelHostOptions
{
    public const string Section = "Generator";

    public int DefaultMaxNewTokens { get; set; } = Sprint.Core.Defaults.MaxNewTokens;
    /// <summary>Longest prompt accepted, in UTF-8 bytes, checked before tokenizing (the gateway's questions are 8 KiB at most).</summary>
    public int MaxPromptBytes { get; set; } = 32 * 1024;
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
