using Sprint.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>
/// Rows decoding together, with their KV cache, in a left-padded layout: every row's latest token sits in the
/// same column, and row r's tokens occupy columns [Start[r], Length). Appending a step writes one column for all
/// rows in place (the cache is preallocated and grows by doubling); padding columns are masked out of attention
/// and each row counts positions from its own first token. Rows join by <see cref="Merge"/> (their prompts were
/// prefilled as a batch of their own) and leave by <see cref="Keep"/>, which also drops the padding columns no
/// remaining row needs. Head masks travel with their rows.
/// </summary>
public sealed class DecodeBatch : IKvCache, IDisposable
{
    readonly CausalLM model;
    Tensor[] keys;     // per layer [rows, kv_heads, capacity, head_dim]; columns [0, length) are filled
    Tensor[] values;   // per layer [rows, kv_heads, capacity, head_dim]
    long[] starts;
    long length;
    long capacity;
    Tensor headMask;   // [rows, layers, heads], 0 where a row prunes that head
    HashSet<int> prunedLayers;

    DecodeBatch(CausalLM model, Tensor[] keys, Tensor[] values, long[] starts, long length, Tensor headMask, HashSet<int> prunedLayers)
    {
        this.model = model;
        this.keys = keys;
        this.values = values;
        this.starts = starts;
        this.length = length;
        capacity = keys[0].shape[2];
        this.headMask = headMask;
        this.prunedLayers = prunedLayers;
    }

    public int Rows => starts.Length;
    /// <summary>Columns in use (the longest row).</summary>
    public long Length => length;
    /// <summary>Cached token slots allocated, padding and headroom included (rows × capacity).</summary>
    public long AllocatedTokens => Rows * capacity;
    /// <summary>Tokens (prompt and generated) a row holds in the cache.</summary>
    public long RowLength(int row) => length - starts[row];

    /// <summary>
    /// Runs the prompts as one left-padded batch and returns the batch and the float32 logits: the last
    /// position's [rows, vocab], or with <paramref name="allPositions"/> [rows, longest prompt, vocab], where row r's
    /// position i is at index <c>longest - prompt_r.Length + i</c>.
    /// </summary>
    public static (DecodeBatch Batch, Tensor Logits) Prefill(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts,
        IReadOnlyList<IReadOnlyList<PrunedHead>> prunedHeads, long headroom = 64, bool allPositions = false)
    {
        if (prompts.Count == 0 || prompts.Count != prunedHeads.Count) throw new ArgumentException("one pruned-head list per prompt, at least one prompt");
        using var scope = NewDisposeScope();
        var c = model.Config;
        int rows = prompts.Count;
        var device = model.Device;
        var padded = LeftPaddedPrompts.Build(prompts, device);   // ids, positions [rows, t]; attend [rows, 1, t, t]
        long t = padded.Length;
        // per layer [rows, kv_heads, t + headroom, head_dim]
        var cache = Enumerable.Range(0, c.NumLayers).Select(_ => zeros(rows, c.NumKeyValueHeads, t + headroom, c.HeadDim, model.DType, device)).ToArray();
        var cacheV = Enumerable.Range(0, c.NumLayers).Select(_ => zeros(rows, c.NumKeyValueHeads, t + headroom, c.HeadDim, model.DType, device)).ToArray();
        var (mask, layers) = HeadMask(model, prunedHeads);
        var batch = new DecodeBatch(model, cache, cacheV, padded.Starts, 0, mask, layers);
        var hidden = batch.Run(padded.Ids, padded.Positions, padded.Attend);                    // [rows, t, hidden]
        var logits = allPositions ? model.Logits(hidden) : model.Logits(hidden[.., ^1]);         // [rows, t, vocab] or [rows, vocab]
        foreach (var tsr in cache.Concat(cacheV)) tsr.MoveToOuterDisposeScope();
        mask.MoveToOuterDisposeScope();
        return (batch, logits.MoveToOuterDisposeScope());
    }

    /// <summary>Appends one token per row and returns the next-token logits [rows, vocab] in float32.</summary>
    public Tensor Step(IReadOnlyList<int> tokens)
    {
        if (tokens.Count != Rows) throw new ArgumentException($"expected {Rows} tokens, got {tokens.Count}");
        EnsureCapacity(length + 1);
        using var scope = NewDisposeScope();
        var device = model.Device;
        var startT = tensor(starts, device: device);                                        // [rows]: each row's first real column
        var positions = (length - startT).view(Rows, 1);                                    // [rows, 1]: the new token's position in its row
        var keyCol = arange(length + 1, device: device).view(1, 1, 1, length + 1);          // [1, 1, 1, keys]
        var attend = keyCol >= startT.view(Rows, 1, 1, 1);                                  // [rows, 1, 1, keys]: padding masked out
        var ids = tensor(tokens.Select(x => (long)x).ToArray(), device: device).view(Rows, 1);   // [rows, 1]
        var hidden = Run(ids, positions, attend);                                           // [rows, 1, hidden]
        return model.Logits(hidden[.., -1]).MoveToOuterDisposeScope();                      // [rows, vocab]
    }

    Tensor Run(Tensor ids, Tensor positions, Tensor attend)
    {
        var hidden = model.Forward(ids, positions, attend, this, prunedLayers.Count > 0 ? headMask : null, prunedLayers);
        length += ids.shape[1];
        return hidden;
    }

    (Tensor Keys, Tensor Values) IKvCache.Update(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];                                   // k, v: [rows, kv_heads, t, head_dim], written in place
        keys[layer].narrow(2, length, t).copy_(k);
        values[layer].narrow(2, length, t).copy_(v);
        return (keys[layer].narrow(2, 0, length + t), values[layer].narrow(2, 0, length + t));
    }

    /// <summary>Adds <paramref name="other"/>'s rows after this batch's rows, aligning both on the last column; disposes <paramref name="other"/>.</summary>
    public void Merge(DecodeBatch other, long headroom = 64)
    {
        long newLength = Math.Max(length, other.length);
        long newCapacity = newLength + headroom;
        int rows = Rows + other.Rows;
        var shift = newLength - length;
        var otherShift = newLength - other.length;
        for (int l = 0; l < keys.Length; l++)
        {
            keys[l] = Combine(keys[l], length, shift, other.keys[l], other.length, otherShift, rows, newCapacity);
            values[l] = Combine(values[l], length, shift, other.values[l], other.length, otherShift, rows, newCapacity);
        }
        starts = starts.Select(s => s + shift).Concat(other.starts.Select(s => s + otherShift)).ToArray();
        var mask = cat([headMask, other.headMask], 0);
        headMask.Dispose();
        headMask = mask;
        prunedLayers.UnionWith(other.prunedLayers);
        length = newLength;
        capacity = newCapacity;
        other.Dispose();
    }

    static Tensor Combine(Tensor a, long lenA, long shiftA, Tensor b, long lenB, long shiftB, int rows, long capacity)
    {
        var result = zeros(rows, a.shape[1], capacity, a.shape[3], a.dtype, a.device);   // [rowsA + rowsB, kv_heads, capacity, head_dim]
        CopyColumns(result, 0, shiftA, a, 0, lenA);
        CopyColumns(result, a.shape[0], shiftB, b, 0, lenB);
        a.Dispose();
        return result;
    }

    /// <summary>Copies columns [srcCol, srcCol + count) of all of <paramref name="src"/>'s rows into <paramref name="dst"/> at (dstRow, dstCol).</summary>
    static void CopyColumns(Tensor dst, long dstRow, long dstCol, Tensor src, long srcCol, long count)
    {
        using var rows = dst.narrow(0, dstRow, src.shape[0]);
        using var target = rows.narrow(2, dstCol, count);
        using var source = src.narrow(2, srcCol, count);
        target.copy_(source);
    }

    /// <summary>Keeps only the given rows (in that order), freeing the others' cache and unneeded padding columns.</summary>
    public void Keep(IReadOnlyList<int> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("a batch keeps at least one row; dispose it instead");
        long drop = rows.Min(r => starts[r]);
        long newLength = length - drop;
        long newCapacity = Math.Min(capacity - drop, newLength + Math.Max(64, capacity - length));
        using var index = tensor(rows.Select(r => (long)r).ToArray(), device: model.Device);
        for (int l = 0; l < keys.Length; l++)
        {
            keys[l] = Select(keys[l], index, drop, newLength, newCapacity);
            values[l] = Select(values[l], index, drop, newLength, newCapacity);
        }
        var mask = headMask.index_select(0, index);
        headMask.Dispose();
        headMask = mask;
        prunedLayers = LayersWithPruning(headMask);
        starts = rows.Select(r => starts[r] - drop).ToArray();
        length = newLength;
        capacity = newCapacity;
    }

    static Tensor Select(Tensor cache, Tensor index, long drop, long length, long capacity)
    {
        var result = zeros(index.shape[0], cache.shape[1], capacity, cache.shape[3], cache.dtype, cache.device);   // [kept, kv_heads, capacity, head_dim]
        using var kept = cache.index_select(0, index);
        CopyColumns(result, 0, 0, kept, drop, length);
        cache.Dispose();
        return result;
    }

    void EnsureCapacity(long needed)
    {
        if (needed <= capacity) return;
        long newCapacity = Math.Max(needed, capacity * 2);
        for (int l = 0; l < keys.Length; l++)
        {
            keys[l] = Grow(keys[l], length, newCapacity);
            values[l] = Grow(values[l], length, newCapacity);
        }
        capacity = newCapacity;
    }

    static Tensor Grow(Tensor cache, long length, long capacity)
    {
        var result = zeros(cache.shape[0], cache.shape[1], capacity, cache.shape[3], cache.dtype, cache.device);
        CopyColumns(result, 0, 0, cache, 0, length);
        cache.Dispose();
        return result;
    }

    static (Tensor Mask, HashSet<int> Layers) HeadMask(CausalLM model, IReadOnlyList<IReadOnlyList<PrunedHead>> pruned)
    {
        var c = model.Config;
        var mask = ones(pruned.Count, c.NumLayers, c.NumHeads, model.DType, model.Device);
        var layers = new HashSet<int>();
        for (int r = 0; r < pruned.Count; r++)
            foreach (var head in pruned[r])
            {
                head.Validate(c.Shape, $"pruned_heads[{r}]");
                mask[r, head.Layer, head.Head] = 0;
                layers.Add(head.Layer);
            }
        return (mask, layers);
    }

    static HashSet<int> LayersWithPruning(Tensor mask)
    {
        using var scope = NewDisposeScope();
        var anyPruned = (mask == 0).any(dim: 2).any(dim: 0);
        var flags = anyPruned.data<bool>().ToArray();
        return Enumerable.Range(0, flags.Length).Where(l => flags[l]).ToHashSet();
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
        headMask.Dispose();
    }
}
