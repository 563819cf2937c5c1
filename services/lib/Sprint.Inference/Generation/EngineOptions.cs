namespace Sprint.Inference.Generation;

public enum AdmissionPolicy
{
    /// <summary>A submission beyond the limits queues (up to <see cref="EngineOptions.MaxQueuedSequences"/>) until room frees.</summary>
    Wait,
    /// <summary>A submission beyond the limits fails at once with <see cref="EngineOverloadedException"/>.</summary>
    Reject,
}

public sealed record EngineOptions
{
    /// <summary>Rows decoding together at most.</summary>
    public int MaxConcurrentSequences { get; init; } = 16;
    /// <summary>
    /// KV-cache budget in tokens. Every slot of the batch's cache has the longest row's columns, so it holds
    /// rows × its longest row; admission keeps rows × the longest reservation (prompt + max new tokens) within this budget.
    /// </summary>
    public long MaxBatchTokens { get; init; } = 16 * 2048;
    public AdmissionPolicy WhenFull { get; init; } = AdmissionPolicy.Wait;
    public int MaxQueuedSequences { get; init; } = 1024;
    /// <summary>Cache columns allocated beyond a joining prompt when the cache grows for it (it grows by doubling).</summary>
    public int CacheHeadroom { get; init; } = 64;
}

/// <summary>The engine is at its configured limits (gRPC services map this to RESOURCE_EXHAUSTED).</summary>
public sealed class EngineOverloadedException(string message) : Exception(message);
