using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;
using Sprint.Contracts.V1;
using StackExchange.Redis;

namespace Sprint.Embedding;

/// <summary>
/// Vectors in HybridCache (an in-process tier, over Redis when Redis is configured) under
/// "{prefix}embedding:{encoder id}:{SHA-256 of the normalised text}", stored as little-endian float32 bytes.
/// When Redis is configured but not connected, the Redis tier is skipped (the request is served uncached, or from
/// the in-process tier) rather than waiting on it. A cached value that is not a vector of the encoder's dimension
/// (written by something else, or corrupted) is a miss: logged, computed again and written over.
/// </summary>
public sealed class EmbeddingCache(HybridCache cache, EmbeddingOptions options, RedisOptions redisOptions, ILogger<EmbeddingCache> log,
    IConnectionMultiplexer? redis = null)
{
    public static string Key(string prefix, string encoderId, string normalizedText) =>
        $"{prefix}embedding:{encoderId}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalizedText)))}";

    public async Task<(float[] Vector, CacheOutcome Outcome)> GetOrComputeAsync(string encoderId, int dimension, string normalizedText,
        Func<CancellationToken, Task<float[]>> compute, CancellationToken ct)
    {
        string key = Key(redisOptions.KeyPrefix, encoderId, normalizedText);
        bool redisDown = redis is not null && !redis.IsConnected;
        var flags = HybridCacheEntryFlags.None;
        if (redisDown) flags |= HybridCacheEntryFlags.DisableDistributedCache;
        if (options.LocalCacheTtl <= TimeSpan.Zero) flags |= HybridCacheEntryFlags.DisableLocalCache;
        var entry = new HybridCacheEntryOptions
        {
            Expiration = options.CacheTtl,
            LocalCacheExpiration = options.LocalCacheTtl > TimeSpan.Zero ? options.LocalCacheTtl : null,
            Flags = flags,
        };
        bool computed = false;
        try
        {
            var bytes = await cache.GetOrCreateAsync(key, async token =>
            {
                computed = true;
                return ToBytes(await compute(token).ConfigureAwait(false));
            }, entry, cancellationToken: ct).ConfigureAwait(false);
            if (bytes.Length != dimension * sizeof(float))
            {
                log.LogWarning("cached value under {Key} is {Bytes} bytes, not a {Dimension}-dimension vector: recomputed and replaced", key, bytes.Length, dimension);
                var vector = await compute(ct).ConfigureAwait(false);
                await cache.SetAsync(key, ToBytes(vector), entry, cancellationToken: ct).ConfigureAwait(false);
                return (vector, redisDown ? CacheOutcome.Bypassed : CacheOutcome.Miss);
            }
            return (FromBytes(bytes), computed ? (redisDown ? CacheOutcome.Bypassed : CacheOutcome.Miss) : CacheOutcome.Hit);
        }
        catch (RedisException e)
        {
            log.LogWarning("Redis failed ({Message}); serving uncached", e.Message);
            return (await compute(ct).ConfigureAwait(false), CacheOutcome.Bypassed);
        }
    }

    static byte[] ToBytes(float[] vector) => MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();

    static float[] FromBytes(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();
}
