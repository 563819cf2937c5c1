using Sprint.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>
/// Rows decoding together and their KV cache, kept in fixed slots (as vLLM's and TGI's caches keep a sequence's
/// blocks in place): per layer one preallocated tensor [slots, kv_heads, capacity, head_dim]; row r lives in slot r
/// and its tokens fill columns [0, RowLength(r)). No cache is copied when rows join or leave:
/// <list type="bullet">
/// <item>join (<see cref="Add"/>): the new rows' prompt pass (a right-padded batch of their own; rows with the same
/// prompt share it, <see cref="SharedPrefix"/>) writes their keys and values straight into the free slots after the
/// last row;</item>
/// <item>step (<see cref="Step"/>): each row writes its new token's key and value at its own column (one
/// <c>index_copy_</c> per layer into a flat view of the pool) and attends, through a view, to columns [0, longest row] of the occupied slots, the columns past its own
/// length masked out;</item>
/// <item>leave (<see cref="Keep"/>): rows that stay but sit past the new end move into the holes (only those rows'
/// columns are copied); the longest remaining row sets the attended width, so a long sequence that finishes stops
/// costing the short ones at once.</item>
/// </list>
/// Slots and columns grow by doubling (a copy of the pool, logarithmically rare), slots up to the row limit and
/// columns up to the model's context. Head masks live in the same slots.
/// </summary>
public sealed partial class DecodeBatch : IKvCache, IDisposable
{
    readonly CausalLM model;
    readonly long headroom;
    readonly int maxRows;
    Tensor[] keys = [];     // per layer [slotCapacity, kv_heads, capacity, head_dim]; row r in slot r, columns [0, lengths[r])
    Tensor[] values = [];   // per layer [slotCapacity, kv_heads, capacity, head_dim]
    Tensor? headMask;       // [slotCapacity, layers, heads], 0 where a row prunes that head
    long[] lengths = [];    // per row: tokens in the cache
    int slotCapacity;
    long capacity;
    HashSet<int> prunedLayers = [];
    Tensor[] flatKeys = [], flatValues = [];   // per layer, the same pool viewed as [slotCapacity * kv_heads * capacity, head_dim]
    // Where the current step writes: row r's key/value head h goes to flat row stepTargets[r * kv_heads + h]; attended width.
    Tensor? stepTargets;
    long stepWidth;

    /// <param name="headroom">Columns allocated beyond the longest prompt when the pool grows for a prompt.</param>
    /// <param name="maxRows">The most rows the batch will hold (slot doubling stops there); 0 for no limit.</param>
    public DecodeBatch(CausalLM model, long headroom = 64, int maxRows = 0)
    {
        this.model = model;
        this.headroom = headroom;
        this.maxRows = maxRows;
    }

    public int Rows => lengths.Length;
    /// <summary>Tokens of the longest row (the columns a step attends to, less one).</summary>
    public long Length => lengths.Length == 0 ? 0 : lengths.Max();
    /// <summary>Cached token slots allocated, padding and headroom included (slots × capacity).</summary>
    public long AllocatedTokens => slotCapacity * capacity;
    /// <summary>Tokens (prompt and generated) a row holds in the cache.</summary>
    public long RowLength(int row) => lengths[row];

    /// <summary>A new batch holding <paramref name="prompts"/>, and the logits of their prompt pass (see <see cref="Add"/>).</summary>
    public static (DecodeBatch Batch, Tensor Logits) Prefill(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts,
        IReadOnlyList<IReadOnlyList<PrunedHead>> prunedHeads, long headroom = 64, bool allPositions = false)
    {
        var batch = new DecodeBatch(model, headroom);
        try { return (batch, batch.Add(prompts, prunedHeads, allPositions)); }
        catch { batch.Dispose(); throw; }
    }

    /// <summary>
    /// Runs the prompts as one right-padded batch into new rows after the existing ones and returns the float32
    /// logits: each prompt's last position [new rows, vocab], or with <paramref name="allPositions"/>
    /// [new rows, longest prompt, vocab] where prompt r's position i is at index i. The existing rows are untouched,
    /// also when this throws (the new rows are then not added).
    /// </summary>
    public Tensor Add(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<PrunedHead>> prunedHeads, bool allPositions = false)
    {
        if (prompts.Count == 0 || prompts.Count != prunedHeads.Count) throw new ArgumentException("one pruned-head list per prompt, at least one prompt");
        for (int r = 0; r < prunedHeads.Count; r++)
            foreach (var head in prunedHeads[r]) head.Validate(model.Config.Shape, $"pruned_heads[{r}]");
        int first = Rows, m = prompts.Count;
        Reserve(first + m, prompts.Max(p => p.Count));
        using var scope = NewDisposeScope();
        var device = model.Device;
        var (mask, layers) = HeadMask(model, prunedHeads);                                       // [m, layers, heads]
        var padded = PaddedPrompts.Right(prompts, device);                                       // ids, positions [m, t]; attend [m, 1, t, t]
        var hidden = SharedPrefix.Plan(prompts, prunedHeads, model.Config.NumLayers) is { } shared
            ? RunShared(padded, shared, first, mask)                                             // [m, t, hidden]
            : model.Forward(padded.Ids, padded.Positions, padded.Attend, new PromptSlots(this, first, m, null, null),
                layers.Count > 0 ? mask : null, layers);                                          // [m, t, hidden]
        var logits = allPositions
            ? model.Logits(hidden)                                                                // [m, t, vocab]
            : model.Logits(hidden[TensorIndex.Tensor(arange(m, device: device)), TensorIndex.Tensor(tensor(padded.LastColumns, device: device))]);   // [m, vocab]
        headMask!.narrow(0, first, m).copy_(mask);
        prunedLayers.UnionWith(layers);
        lengths = [.. lengths, .. padded.Lengths];
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Appends one token per row and returns the next-token logits [rows, vocab] in float32.</summary>
    public Tensor Step(IReadOnlyList<int> tokens)
    {
        if (tokens.Count != Rows || Rows == 0) throw new ArgumentException($"expected {Rows} tokens, got {tokens.Count}");
        long longest = Length;
        Reserve(Rows, longest + 1);
        using var scope = NewDisposeScope();
        var device = model.Device;
        int rows = Rows;
        var positions = tensor(lengths, device: device);                                        // [rows]: the new token's column and position
        long kvHeads = model.Config.NumKeyValueHeads;
        var slotHeads = arange(rows * kvHeads, device: device).view(rows, kvHeads);             // [rows, kv_heads]: slot * kv_heads + head
        stepTargets = (slotHeads * capacity + positions.view(rows, 1)).view(-1);                 // [rows * kv_heads]: flat row of (slot, head, column)
        stepWidth = longest + 1;
        var keyCol = arange(stepWidth, device: device).view(1, 1, 1, stepWidth);                // [1, 1, 1, keys]
        var attend = keyCol <= positions.view(rows, 1, 1, 1);                                   // [rows, 1, 1, keys]: columns past a row masked out
        var ids = tensor(tokens.Select(x => (long)x).ToArray(), device: device).view(rows, 1);  // [rows, 1]
        var hidden = model.Forward(ids, positions.view(rows, 1), attend, this,
            prunedLayers.Count > 0 ? headMask!.narrow(0, 0, rows) : null, prunedLayers);        // [rows, 1, hidden]
        stepTargets = null;
        for (int r = 0; r < rows; r++) lengths[r]++;
        return model.Logits(hidden[.., -1]).MoveToOuterDisposeScope();                          // [rows, vocab]
    }

    (Tensor Keys, Tensor Values) IKvCache.Update(int layer, Tensor k, Tensor v)
    {
        // k, v: [rows, kv_heads, 1, head_dim]; one index_copy_ each into the flat view puts every row's at its own column.
        long d = k.shape[3];
        flatKeys[layer].index_copy_(0, stepTargets!, k.reshape(-1, d));
        flatValues[layer].index_copy_(0, stepTargets!, v.reshape(-1, d));
        var used = new[] { TensorIndex.Slice(0, Rows), TensorIndex.Colon, TensorIndex.Slice(0, stepWidth) };   // one call per view
        return (keys[layer][used], values[layer][used]);                  // [rows, kv_heads, longest + 1, head_dim]
    }

    /// <summary>
    /// Greedy decoding with the cache (argmax, lowest id on ties, EOS not special): feeds <paramref name="first"/> (one
    /// token per row), then each step's argmax, <paramref name="steps"/> times; returns each row's tokens, the first
    /// included. The one greedy loop of the conformance check and the decode benchmark.
    /// </summary>
    public List<int>[] Greedy(IReadOnlyList<int> first, int steps)
    {
        var tokens = first.Select(t => new List<int> { t }).ToArray();
        for (int step = 0; step < steps; step++)
        {
            using var logits = Step(tokens.Select(t => t[^1]).ToList());
            using var chosen = logits.argmax(-1);
            var ids = chosen.data<long>().ToArray();
            for (int r = 0; r < tokens.Length; r++) tokens[r].Add((int)ids[r]);
        }
        return tokens;
    }

    /// <summary>
    /// Keeps only the given rows and returns the new row order: row i is the old row <c>order[i]</c>. Kept rows below
    /// the new row count stay where they are; the others move into the freed slots.
    /// </summary>
    public int[] Keep(IReadOnlyList<int> rows)
    {
        var kept = rows.ToHashSet();
        if (kept.Count != rows.Count || rows.Any(r => r < 0 || r >= Rows)) throw new ArgumentException("rows must be distinct rows of the batch", nameof(rows));
        int n = rows.Count;
        var holes = Enumerable.Range(0, n).Where(r => !kept.Contains(r)).ToArray();
        var movers = rows.Where(r => r >= n).Order().ToArray();
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < holes.Length; i++) order[holes[i]] = movers[i];
        if (movers.Length > 0)
        {
            using var scope = NewDisposeScope();
            long width = movers.Max(r => lengths[r]);
            var to = tensor(holes.Select(r => (long)r).ToArray(), device: model.Device);
            var from = tensor(movers.Select(r => (long)r).ToArray(), device: model.Device);
            foreach (var pool in keys.Concat(values))
            {
                var used = pool.narrow(2, 0, width);                                            // [slots, kv_heads, width, head_dim]
                used.index_copy_(0, to, used.index_select(0, from));
            }
            headMask!.index_copy_(0, to, headMask.index_select(0, from));
        }
        lengths = order.Select(r => lengths[r]).ToArray();
        prunedLayers = LayersWithPruning(headMask!, n);
        return order;
    }

    /// <summary>
    /// Makes room for <paramref name="rows"/> rows of <paramref name="columns"/> tokens, growing the pool by doubling.
    /// Called outside any dispose scope of ours: the pool must outlive the call.
    /// </summary>
    void Reserve(int rows, long columns)
    {
        if (rows <= slotCapacity && columns <= capacity) return;
        var c = model.Config;
        int newSlots = rows <= slotCapacity ? slotCapacity : Math.Max(rows, Math.Min(2 * slotCapacity, maxRows > 0 ? maxRows : int.MaxValue));
        long newCapacity = columns <= capacity ? capacity
            : Math.Max(columns, Math.Min(Math.Max(columns + headroom, 2 * capacity), c.MaxPositionEmbeddings));
        keys = Grow(keys, newSlots, newCapacity);
        values = Grow(values, newSlots, newCapacity);
        foreach (var flat in flatKeys.Concat(flatValues)) flat.Dispose();
        flatKeys = keys.Select(pool => pool.view(-1, c.HeadDim)).ToArray();
        flatValues = values.Select(pool => pool.view(-1, c.HeadDim)).ToArray();
        var mask = ones(newSlots, c.NumLayers, c.NumHeads, model.DType, model.Device);
        if (headMask is not null)
        {
            using (var old = mask.narrow(0, 0, slotCapacity)) old.copy_(headMask);
            headMask.Dispose();
        }
        headMask = mask;
        slotCapacity = newSlots;
        capacity = newCapacity;
    }

    Tensor[] Grow(Tensor[] pools, int slots, long columns)
    {
        var c = model.Config;
        var grown = new Tensor[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            grown[l] = zeros(slots, c.NumKeyValueHeads, columns, c.HeadDim, model.DType, model.Device);   // zeros: unused columns stay finite under the mask
            if (pools.Length == 0) continue;
            using (var oldSlots = grown[l].narrow(0, 0, pools[l].shape[0]))
            using (var corner = oldSlots.narrow(2, 0, pools[l].shape[2])) corner.copy_(pools[l]);
            pools[l].Dispose();
        }
        return grown;
    }

    static (Tensor Mask, HashSet<int> Layers) HeadMask(CausalLM model, IReadOnlyList<IReadOnlyList<PrunedHead>> pruned)
    {
        var c = model.Config;
        var mask = ones(pruned.Count, c.NumLayers, c.NumHeads, model.DType, model.Device);
        var layers = new HashSet<int>();
        for (int r = 0; r < pruned.Count; r++)
            foreach (var head in pruned[r])
            {
                mask[r, head.Layer, head.Head] = 0;
                layers.Add(head.Layer);
            }
        return (mask, layers);
    }

    /// <summary>Layers where one of the first <paramref name="rows"/> rows of <paramref name="mask"/> prunes a head.</summary>
    static HashSet<int> LayersWithPruning(Tensor mask, int rows)
    {
        if (rows == 0) return [];
        using var scope = NewDisposeScope();
        var anyPruned = (mask.narrow(0, 0, rows) == 0).any(dim: 2).any(dim: 0);
        var flags = anyPruned.data<bool>().ToArray();
        return Enumerable.Range(0, flags.Length).Where(l => flags[l]).ToHashSet();
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values).Concat(flatKeys).Concat(flatValues)) t.Dispose();
        headMask?.Dispose();
    }
}
