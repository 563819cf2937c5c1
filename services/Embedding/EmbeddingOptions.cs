namespace Sprint.Embedding;

/// <summary>
/// Configuration section "Embedding": the checkpoint whose final hidden states are mean-pooled (the generator's model
/// by default; its SystemPrompt must match what the selector was trained with) and the cache.
/// </summary>
public sealed class EmbeddingOptions : Inference.ModelHostOptions
{
    public const string Section = "Embedding";

    /// <summary>Longest accepted text in UTF-8 bytes.</summary>
    public int MaxTextBytes { get; set; } = 8 * 1024;
    /// <summary>How long the first uncached text waits for others to encode with it (dynamic batching).</summary>
    public TimeSpan BatchWait { get; set; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Texts encoded together at most.</summary>
    public int MaxBatch { get; set; } = 32;
    /// <summary>How long a vector stays in Redis (and in-process when there is no Redis).</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromDays(7);
    /// <summary>How long a vector stays in the in-process tier in front of Redis; zero turns that tier off.</summary>
    public TimeSpan LocalCacheTtl { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Configuration section "Redis": empty Configuration means no Redis (an in-process cache only).</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. "127.0.0.1:6379".</summary>
    public string? Configuration { get; set; }
    /// <summary>Prefix of every key the suite writes.</summary>
    public string KeyPrefix { get; set; } = "sprint:";
}
