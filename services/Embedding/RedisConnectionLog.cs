using StackExchange.Redis;

namespace Sprint.Embedding;

/// <summary>
/// The embedding service's Redis connection, with one log line when it fails (a wrong password or user says so) and
/// one when it is back — not one per request: while it is down requests are served uncached (<see cref="EmbeddingCache"/>).
/// </summary>
public sealed class RedisConnectionLog
{
    public static IConnectionMultiplexer Connect(ConfigurationOptions config, ILogger<RedisConnectionLog> log)
    {
        var redis = ConnectionMultiplexer.Connect(config);
        int down = redis.IsConnected ? 0 : 1;
        if (down == 1) log.LogWarning("Redis at {Endpoints} is not connected: serving uncached until it is", string.Join(", ", config.EndPoints));
        redis.ConnectionFailed += (_, e) =>
        {
            if (Interlocked.Exchange(ref down, 1) == 1) return;
            log.LogWarning("Redis connection failed ({Failure}{Hint}): serving uncached until it is back", e.FailureType,
                e.FailureType == ConnectionFailureType.AuthenticationFailure ? ": wrong Redis:User or Redis:Password" : "");
        };
        redis.ConnectionRestored += (_, _) =>
        {
            if (Interlocked.Exchange(ref down, 0) == 1) log.LogInformation("Redis connection restored");
        };
        return redis;
    }
}
