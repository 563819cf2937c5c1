using Sprint.Core;

namespace Sprint.Inference.Generation;

/// <summary>One sequence to decode: its prompt, its own pruned heads, how it samples and when it stops.</summary>
public sealed record GenerationRequest
{
    public required IReadOnlyList<int> PromptIds { get; init; }
    public IReadOnlyList<PrunedHead> PrunedHeads { get; init; } = [];
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;
    public StoppingCriteria Stopping { get; init; } = StoppingCriteria.Default;

    /// <summary>KV-cache tokens this sequence can grow to: prompt + max new tokens.</summary>
    public int Reservation => PromptIds.Count + Stopping.MaxNewTokens;
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
