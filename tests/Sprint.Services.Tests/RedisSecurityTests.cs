using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sprint.Contracts.V1;
using Sprint.Embedding;
using StackExchange.Redis;

namespace Sprint.Services.Tests;

/// <summary>
/// The embedding cache against a redis-server started with <c>requirepass</c>: the password from Redis:Password
/// works; a wrong one degrades to uncached with one log line; a cached value that is not a vector is a miss.
/// </summary>
public sealed class RedisSecurityTests : IAsyncLifetime
{
    const string Password = "test-redis-password-0123456789";
    ServiceProcess redis = null!;

    public async Task InitializeAsync() => redis = await ServiceProcess.StartRedis("--requirepass", Password);

    sealed class Lines : ILoggerProvider
    {
        public readonly ConcurrentQueue<string> Logged = new();
        public ILogger CreateLogger(string category) => new Line(this, category);
        public void Dispose() { }
        sealed class Line(Lines owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel level) => level >= LogLevel.Warning;
            public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
            {
                if (IsEnabled(level)) owner.Logged.Enqueue($"{category}: {format(state, e)}");
            }
        }
    }

    async Task<(WebApplication App, Grpc.Net.Client.GrpcChannel Channel, Lines Log)> Embedding(string password)
    {
        var log = new Lines();
        var (app, channel) = await DegradedTests.Start(b => { b.AddEmbedding(); b.Logging.AddProvider(log); }, a => a.MapEmbedding(),
            $"--Embedding:Model={Paths.Model}", "--Embedding:Threads=1", "--Embedding:LocalCacheTtl=00:00:00",
            $"--Redis:Configuration=127.0.0.1:{redis.Port}", $"--Redis:Password={password}");
        return (app, channel, log);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_password_from_settings_reaches_a_redis_that_requires_one()
    {
        var (app, channel, log) = await Embedding(Password);
        await using var _ = app;
        using var __ = channel;
        var client = new EmbeddingService.EmbeddingServiceClient(channel);
        var text = "Redis with a password: " + Guid.NewGuid();
        Assert.Equal(CacheOutcome.Miss, (await client.EmbedAsync(new EmbedRequest { Text = text }, deadline: DateTime.UtcNow.AddSeconds(30))).Cache);
        var encoder = app.Services.GetRequiredService<EmbeddingEncoder>().Require();
        var key = EmbeddingCache.Key("sprint:", encoder.EncoderId, text);
        using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port},password={Password}");
        for (int i = 0; i < 100 && !await direct.GetDatabase().KeyExistsAsync(key); i++) await Task.Delay(50);   // HybridCache writes the Redis tier behind the reply
        Assert.True(await direct.GetDatabase().KeyExistsAsync(key), $"{key} is not in Redis");
        var again = await client.EmbedAsync(new EmbedRequest { Text = text }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(CacheOutcome.Hit, again.Cache);

        // The attack on the cache: something else writes a value of the wrong length under the key. A miss, not a short vector.
        // Written through HybridCache itself (its Redis payload format), so that the read succeeds and the length is what is wrong.
        await app.Services.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>().SetAsync(key, new byte[12],
            new Microsoft.Extensions.Caching.Hybrid.HybridCacheEntryOptions { Flags = Microsoft.Extensions.Caching.Hybrid.HybridCacheEntryFlags.DisableLocalCache });
        var poisoned = await client.EmbedAsync(new EmbedRequest { Text = text }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(CacheOutcome.Miss, poisoned.Cache);
        Assert.Contains(log.Logged, l => l.Contains("is 12 bytes, not a 256-dimension vector", StringComparison.Ordinal));
        Assert.Equal(again.Vector, poisoned.Vector);
        Assert.Equal(CacheOutcome.Hit, (await client.EmbedAsync(new EmbedRequest { Text = text }, deadline: DateTime.UtcNow.AddSeconds(30))).Cache);   // written over
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wrong_password_degrades_to_uncached_with_one_log_line()
    {
        var (app, channel, log) = await Embedding("not-the-password");
        await using var _ = app;
        using var __ = channel;
        var client = new EmbeddingService.EmbeddingServiceClient(channel);
        for (int i = 0; i < 3; i++)
            Assert.Equal(CacheOutcome.Bypassed, (await client.EmbedAsync(new EmbedRequest { Text = "wrong password " + i }, deadline: DateTime.UtcNow.AddSeconds(30))).Cache);
        var redisLines = log.Logged.Where(l => l.Contains("Redis", StringComparison.Ordinal)).ToList();
        Assert.True(redisLines.Count == 1, string.Join("\n", log.Logged));
    }

    public Task DisposeAsync()
    {
        redis.Dispose();
        return Task.CompletedTask;
    }
}
