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
/// (temperature 1, before any filtering), and on the last event the finish reason and the sequence's
/// <see cref="SequenceTimes"/>.
/// </summary>
public sealed record GenerationEvent(int? TokenId, string Text, float LogProb, FinishReason? Finish, SequenceTimes? Times = null);

/// <summary>
/// When a sequence reached each stage, as <see cref="System.Diagnostics.Stopwatch"/> timestamps (vLLM's request
/// metrics): submitted (queued), scheduled (its prompt pass began), its first token, finished. A sequence cancelled
/// while queued has Scheduled and FirstToken 0.
/// </summary>
public sealed record SequenceTimes(long Submitted, long Scheduled, long FirstToken, long Finished)
{
    /// <summary>Waiting in the admission queue.</summary>
    public TimeSpan Queued => Scheduled == 0 ? System.Diagnostics.Stopwatch.GetElapsedTime(Submitted, Finished) : System.Diagnostics.Stopwatch.GetElapsedTime(Submitted, Scheduled);
    /// <summary>The prompt pass and the first token (zero when never scheduled).</summary>
    public TimeSpan Prefill => FirstToken == 0 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(Scheduled, FirstToken);
    /// <summary>From the first token to the last (zero when never scheduled).</summary>
    public TimeSpan Decode => FirstToken == 0 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(FirstToken, Finished);
}

/// <summary>Per-sequence log-probability figures, one rule wherever a sequence is scored (the generator's result, the offline decoder).</summary>
public static class LogProbs
{
    /// <summary>
    /// The mean token log-probability; 0 for a sequence without tokens (it has no text, hence no answer, so the
    /// score never decides a vote).
    /// </summary>
    public static double Mean(double sum, int tokens) => tokens == 0 ? 0 : sum / tokens;
}
