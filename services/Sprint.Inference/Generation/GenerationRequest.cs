using Sprint.Inference.Model;

namespace Sprint.Inference.Generation;

/// <summary>Greedy when <see cref="Temperature"/> is 0 (argmax, lowest id on ties); otherwise temperature, top-k, top-p sampling.</summary>
public sealed record SamplingParams
{
    public double Temperature { get; init; }
    /// <summary>0 disables top-k.</summary>
    public int TopK { get; init; }
    /// <summary>1 disables top-p (nucleus) filtering.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>The same seed, prompt and parameters give the same tokens; null draws a seed.</summary>
    public long? Seed { get; init; }

    public bool IsGreedy => Temperature <= 0;
    public static SamplingParams Greedy { get; } = new();
}

/// <summary>One sequence to decode: its prompt, its own pruned heads, sampling and limits.</summary>
public sealed record GenerationRequest
{
    public required IReadOnlyList<int> PromptIds { get; init; }
    public IReadOnlyList<PrunedHead> PrunedHeads { get; init; } = [];
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>Decoding stops when the text contains one of these; the stop string is not part of the output.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Keep going past EOS tokens (conformance and benchmarks).</summary>
    public bool IgnoreEos { get; init; }
}

public enum FinishReason
{
    /// <summary>An EOS token or a stop string.</summary>
    Stop,
    /// <summary>MaxNewTokens reached.</summary>
    Length,
    Cancelled,
}

/// <summary>
/// One step of a sequence: the token chosen (null on a final event that carries none), the text it completed (may be
/// empty while a UTF-8 character or a possible stop string is held back), its log-probability under the model
/// (temperature 1, before any filtering), and on the last event the finish reason.
/// </summary>
public sealed record GenerationEvent(int? TokenId, string Text, float LogProb, FinishReason? Finish);
