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

    /// <summary>A StackExchange.Redis configuration string, e.g. "127.0.0.1:6379" or "redis:6380,ssl=true" (no secrets: see <see cref="Password"/>).</summary>
    public string? Configuration { get; set; }
    /// <summary>The ACL user (Redis 6+); empty: the default user.</summary>
    public string? User { get; set; }
    /// <summary>The password (<c>requirepass</c> or the ACL user's); a secret: set it from the environment (Redis__Password).</summary>
    public string? Password { get; set; }
    /// <summary>TLS to Redis (redis-server's tls-port).</summary>
    public bool Tls { get; set; }
    /// <summary>With <see cref="Tls"/>: PEM CA bundle Redis's certificate must chain to; empty: the system store.</summary>
    public string? CaPath { get; set; }
    /// <summary>Prefix of every key the suite writes.</summary>
    public string KeyPrefix { get; set; } = "sprint:";

    /// <summary>StackExchange.Redis's options: <see cref="Configuration"/> with the credentials and TLS settings, and short timeouts (a slow Redis degrades to uncached, it does not stall calls).</summary>
    public StackExchange.Redis.ConfigurationOptions ToConfiguration()
    {
        var config = StackExchange.Redis.ConfigurationOptions.Parse(Configuration!);
        config.AbortOnConnectFail = false;   // start (and serve uncached) while Redis is down; reconnect in the background
        config.ConnectTimeout = Math.Min(config.ConnectTimeout, 2000);
        config.AsyncTimeout = Math.Min(config.AsyncTimeout, 1000);
        config.SyncTimeout = Math.Min(config.SyncTimeout, 1000);
        if (!string.IsNullOrEmpty(User)) config.User = User;
        if (!string.IsNullOrEmpty(Password)) config.Password = Password;
        if (Tls) config.Ssl = true;
        if (Tls && !string.IsNullOrWhiteSpace(CaPath)) config.TrustIssuer(CaPath);
        return config;
    }
}
