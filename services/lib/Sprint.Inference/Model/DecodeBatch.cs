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
        var hidden = SharedPrefix.Plan(prompts, prunedHeads, c.NumLayers) is { } shared
            ? batch.RunShared(padded, shared)                                                    // [rows, t, hidden]
            : batch.Run(padded.Ids, padded.Positions, padded.Attend);                            // [rows, t, hidden]
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

    /// <summary>
    /// The prompt pass with shared prefixes (see <see cref="SharedPrefix"/>): layer by layer, each distinct prompt's
    /// unpruned state runs once for the rows that do not prune yet, and a row continues on its own from the layer
    /// where it starts to prune. Every row's keys and values are written exactly as <see cref="Run"/> writes them.
    /// </summary>
    Tensor RunShared(LeftPaddedPrompts padded, SharedPrefix plan)
    {
        var device = model.Device;
        long t = padded.Length;
        using var firstRows = tensor(plan.FirstRow.Select(r => (long)r).ToArray(), device: device);          // [prompts]
        var (cos, sin, groupMask) = model.LayerInputs(padded.Positions, padded.Attend);                      // [rows, ...]
        var sharedH = model.Embed(padded.Ids.index_select(0, firstRows));                                    // [prompts, t, hidden]
        var rowH = zeros(Rows, t, sharedH.shape[2], sharedH.dtype, device);                                   // [rows, t, hidden]
        for (int l = 0; l < model.Config.NumLayers; l++)
        {
            // Rows that start pruning at this layer take over their prompt's state.
            var branching = plan.BranchingAt(l);
            if (branching.Length > 0)
                using (var idx = tensor(branching.Select(r => (long)r).ToArray(), device: device))
                using (var from = tensor(branching.Select(r => (long)plan.Prompt[r]).ToArray(), device: device))
                    rowH.index_copy_(0, idx, sharedH.index_select(0, from));

            var own = plan.PruningBy(l);         // rows that prune at this layer or below: their own computation
            if (own.Length > 0)
            {
                using var idx = tensor(own.Select(r => (long)r).ToArray(), device: device);
                var cacheRows = new PrefillRows(this, idx, null);
                var h = model.Layer(l, rowH.index_select(0, idx), cos.index_select(0, idx), sin.index_select(0, idx),
                    groupMask.index_select(0, idx), cacheRows, headMask.index_select(0, idx)[.., l]);
                rowH.index_copy_(0, idx, h);
            }

            var sharing = plan.SharingAt(l);     // rows that do not prune yet: their prompt's state stands for them
            if (sharing.Length > 0)
            {
                var prompts = sharing.Select(r => plan.Prompt[r]).Distinct().Order().ToArray();
                using var promptIdx = tensor(prompts.Select(p => (long)p).ToArray(), device: device);
                using var inputRows = tensor(prompts.Select(p => (long)plan.FirstRow[p]).ToArray(), device: device);
                using var rowsIdx = tensor(sharing.Select(r => (long)r).ToArray(), device: device);
                using var expand = tensor(sharing.Select(r => (long)Array.IndexOf(prompts, plan.Prompt[r])).ToArray(), device: device);
                var h = model.Layer(l, sharedH.index_select(0, promptIdx), cos.index_select(0, inputRows), sin.index_select(0, inputRows),
                    groupMask.index_select(0, inputRows), new PrefillRows(this, rowsIdx, expand), null);
                sharedH.index_copy_(0, promptIdx, h);
            }
        }
        var unpruned = plan.Unpruned(model.Config.NumLayers);   // rows that never prune end with their prompt's state
        if (unpruned.Length > 0)
            using (var idx = tensor(unpruned.Select(r => (long)r).ToArray(), device: device))
            using (var from = tensor(unpruned.Select(r => (long)plan.Prompt[r]).ToArray(), device: device))
                rowH.index_copy_(0, idx, sharedH.index_select(0, from));
        length += t;
        return model.FinalNorm(rowH);
    }

    /// <summary>
    /// The cache seen by one layer call of a shared prefill: the call's keys/values [n, kv_heads, t, head_dim] go to
    /// batch rows <c>rows</c> (call row <c>expand[i]</c> for batch row <c>rows[i]</c>; the identity when null). A
    /// prompt pass attends only to its own keys, which are returned as they are.
    /// </summary>
    sealed class PrefillRows(DecodeBatch batch, Tensor rows, Tensor? expand) : IKvCache
    {
        public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
        {
            long t = k.shape[2];
            using (var keys = batch.keys[layer].narrow(2, 0, t)) keys.index_copy_(0, rows, expand is null ? k : k.index_select(0, expand));
            using (var values = batch.values[layer].narrow(2, 0, t)) values.index_copy_(0, rows, expand is null ? v : v.index_select(0, expand));
            return (k, v);
        }
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

/// <summary>
/// Which rows of a prompt pass can share work. Rows with the same prompt compute exactly the same thing in every
/// layer below the lowest layer they prune (a pruned head changes nothing before its layer), so those layers run
/// once per distinct prompt — SPRINT's N candidates of one question share most of their prefill. Null when no two
/// rows share a prompt and a layer (nothing to gain).
/// </summary>
public sealed class SharedPrefix
{
    /// <summary>Row → index of its distinct prompt.</summary>
    public required int[] Prompt { get; init; }
    /// <summary>Distinct prompt → the first row that has it (its ids, positions and mask stand for all).</summary>
    public required int[] FirstRow { get; init; }
    /// <summary>Row → the lowest layer it prunes; the number of layers when it prunes none.</summary>
    public required int[] Depth { get; init; }

    /// <summary>Rows whose first pruned layer is <paramref name="layer"/>: from here on they run on their own.</summary>
    public int[] BranchingAt(int layer) => Rows(d => d == layer);
    /// <summary>Rows that prune at or below <paramref name="layer"/>: they run this layer on their own.</summary>
    public int[] PruningBy(int layer) => Rows(d => d <= layer);
    /// <summary>Rows that prune nothing at or below <paramref name="layer"/>: their prompt's shared state stands for them there.</summary>
    public int[] SharingAt(int layer) => Rows(d => d > layer);
    /// <summary>Rows that prune nothing at all.</summary>
    public int[] Unpruned(int layers) => Rows(d => d >= layers);

    int[] Rows(Func<int, bool> keep) => Enumerable.Range(0, Depth.Length).Where(r => keep(Depth[r])).ToArray();

    public static SharedPrefix? Plan(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<PrunedHead>> prunedHeads, int layers)
    {
        var prompt = new int[prompts.Count];
        var firstRow = new List<int>();
        for (int r = 0; r < prompts.Count; r++)
        {
            int match = firstRow.FindIndex(f => prompts[f].SequenceEqual(prompts[r]));
            if (match < 0) { match = firstRow.Count; firstRow.Add(r); }
            prompt[r] = match;
        }
        var depth = prunedHeads.Select(h => h.Count == 0 ? layers : h.Min(x => x.Layer)).ToArray();
        // Worth it when some prompt has two rows that share at least its first layer.
        bool gain = Enumerable.Range(0, prompts.Count).GroupBy(r => prompt[r]).Any(g => g.Count(r => depth[r] > 0) >= 2);
        return gain ? new SharedPrefix { Prompt = prompt, FirstRow = [.. firstRow], Depth = depth } : null;
    }
}
