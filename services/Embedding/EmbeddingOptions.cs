namespace Sprint.Embedding;

/// <summary>Configuration section "Embedding".</summary>
public sealed class EmbeddingOptions
{
    public const string Section = "Embedding";

    /// <summary>The checkpoint whose final hidden states are mean-pooled (the generator's model by default).</summary>
    public string Model { get; set; } = "models/sprint-tiny-math";
    public string DType { get; set; } = "float32";
    /// <summary>safetensors (the folder's weights) or dummy (random weights of config.json's shapes, for benchmarks).</summary>
    public string LoadFormat { get; set; } = "safetensors";
    /// <summary>libtorch intra-op threads; 0 takes cores − 1 (at least 1).</summary>
    public int Threads { get; set; }
    /// <summary>System turn of the encoded prompt; must match what the selector was trained with (none by default).</summary>
    public string? SystemPrompt { get; set; }
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
