using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sprint.Inference;
using Sprint.ServiceDefaults;
using StackExchange.Redis;

namespace Sprint.Embedding;

public static class EmbeddingHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.EmbeddingService.Descriptor.FullName;
    /// <summary>
    /// gRPC health service name of the Redis tier. It reports NOT_SERVING while Redis is configured but
    /// unreachable; the Embedding service itself stays SERVING (degraded: requests succeed uncached).
    /// </summary>
    public static readonly string CacheHealthName = ServiceName + ".Cache";

    public static WebApplicationBuilder AddEmbedding(this WebApplicationBuilder builder)
    {
        var options = builder.BindOptions<EmbeddingOptions>(EmbeddingOptions.Section);
        var redisOptions = builder.BindOptions<RedisOptions>(RedisOptions.Section);
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddLoadedInBackground<EmbeddingEncoder, Sprint.Selection.QuestionEncoder>(ServiceName, "embedding-encoder");
        builder.Services.AddSingleton<EmbeddingCache>();
        builder.Services.AddHybridCache(o => o.DefaultEntryOptions = new() { Expiration = options.CacheTtl });

        if (!string.IsNullOrWhiteSpace(redisOptions.Configuration))
        {
            var config = redisOptions.ToConfiguration();
            builder.Services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnectionLog.Connect(config, sp.GetRequiredService<ILogger<RedisConnectionLog>>()));
            builder.Services.AddStackExchangeRedisCache(_ => { });
            builder.Services.AddOptions<RedisCacheOptions>().Configure<IConnectionMultiplexer>((o, redis) =>
                o.ConnectionMultiplexerFactory = () => Task.FromResult(redis));
            // Not tagged ready: Redis down degrades the service (uncached) rather than taking it out of rotation.
            builder.Services.AddHealthChecks().Add(new("embedding-redis", sp => new RedisHealthCheck(sp.GetRequiredService<IConnectionMultiplexer>()), null, [CacheHealthName]));
        }
        builder.Services.Configure<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>(o =>
            o.Services.Map(CacheHealthName, r => r.Tags.Contains(CacheHealthName)));
        return builder;
    }

    public static WebApplication MapEmbedding(this WebApplication app)
    {
        app.MapSprintService<EmbeddingGrpcService>("embedding");
        return app;
    }

    sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var latency = await redis.GetDatabase().PingAsync().ConfigureAwait(false);
                return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:F1} ms");
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy($"Redis unreachable: {e.Message}");
            }
        }
    }
}
