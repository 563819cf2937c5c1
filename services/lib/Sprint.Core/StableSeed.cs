using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Sprint.Core;

/// <summary>
/// Every random stream of the project derives from (seed, purpose, key, index) with fixed, documented arithmetic, so
/// the same command gives the same numbers in every process, on every machine and every .NET version (unlike
/// <see cref="HashCode"/> and <c>string.GetHashCode</c>, which .NET randomises per process):
/// <code>
/// h    = XxHash64(UTF-8(purpose) ‖ 0x00 ‖ UTF-8(key) ‖ 0x00 ‖ int64-LE(index), seed: seed)
/// seed = SplitMix64(h)
/// </code>
/// Purposes in use: <c>"sample"</c> (a candidate's sampling seed; key = question, index = candidate),
/// <c>"random_heads"</c> (the order of the random configurations; key = question), <c>"train_batch"</c> (the
/// examples of a training step; index = step), <c>"bootstrap"</c> (confidence intervals; key = the row).
/// </summary>
public static class StableSeed
{
    public static ulong Derive(ulong seed, string purpose, string key = "", long index = 0)
    {
        int length = Encoding.UTF8.GetByteCount(purpose) + Encoding.UTF8.GetByteCount(key) + 2 + sizeof(long);
        var bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        int at = Encoding.UTF8.GetBytes(purpose, bytes);
        bytes[at++] = 0;
        at += Encoding.UTF8.GetBytes(key, bytes[at..]);
        bytes[at++] = 0;
        BinaryPrimitives.WriteInt64LittleEndian(bytes[at..], index);
        return StableRandom.Mix(XxHash64.HashToUInt64(bytes, unchecked((long)seed)));
    }

    /// <summary>A generator for one stream: <c>new StableRandom(Derive(seed, purpose, key, index))</c>.</summary>
    public static StableRandom Stream(ulong seed, string purpose, string key = "", long index = 0) => new(Derive(seed, purpose, key, index));
}

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose every output is specified, used wherever a
/// result must be reproducible across processes and versions. Not for cryptography.
/// </summary>
public sealed class StableRandom(ulong seed)
{
    ulong state = seed;

    /// <summary>The SplitMix64 output function: a bijective mix of 64 bits.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64() => Mix(state += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, bound) without modulo bias (rejection of the incomplete last block).</summary>
    public int Next(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong b = (ulong)bound, limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % b);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fisher–Yates in place: the same seed gives the same order.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
