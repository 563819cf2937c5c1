using Sprint.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

// The shared-prefix prompt pass of DecodeBatch: which rows share which prompt up to which layer (SharedPrefix, the
// plan) and the layer-by-layer pass that runs each shared state once (RunShared), writing every row's keys and values
// into its slot exactly as a plain prompt pass would.

public sealed partial class DecodeBatch
{
    /// <summary>
    /// The prompt pass with shared prefixes (see <see cref="SharedPrefix"/>): layer by layer, each distinct prompt's
    /// unpruned state runs once for the rows that do not prune yet, and a row continues on its own from the layer
    /// where it starts to prune. Every row's keys and values are written exactly as a plain prompt pass writes them.
    /// </summary>
    Tensor RunShared(PaddedPrompts padded, SharedPrefix plan, int first, Tensor mask)
    {
        var device = model.Device;
        long t = padded.Length, m = padded.Ids.shape[0];
        using var firstRows = tensor(plan.FirstRow.Select(r => (long)r).ToArray(), device: device);          // [prompts]
        var (cos, sin, groupMask) = model.LayerInputs(padded.Positions, padded.Attend);                      // [m, ...]
        var sharedH = model.Embed(padded.Ids.index_select(0, firstRows));                                    // [prompts, t, hidden]
        var rowH = zeros(m, t, sharedH.shape[2], sharedH.dtype, device);                                      // [m, t, hidden]
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
                var h = model.Layer(l, rowH.index_select(0, idx), cos.index_select(0, idx), sin.index_select(0, idx),
                    groupMask.index_select(0, idx), new PromptSlots(this, first, m, idx, null), mask.index_select(0, idx)[.., l]);
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
                    groupMask.index_select(0, inputRows), new PromptSlots(this, first, m, rowsIdx, expand), null);
                sharedH.index_copy_(0, promptIdx, h);
            }
        }
        var unpruned = plan.Unpruned(model.Config.NumLayers);   // rows that never prune end with their prompt's state
        if (unpruned.Length > 0)
            using (var idx = tensor(unpruned.Select(r => (long)r).ToArray(), device: device))
            using (var from = tensor(unpruned.Select(r => (long)plan.Prompt[r]).ToArray(), device: device))
                rowH.index_copy_(0, idx, sharedH.index_select(0, from));
        return model.FinalNorm(rowH);
    }

    /// <summary>
    /// The cache seen by one layer call of a prompt pass over the new rows in slots [first, first + count): the
    /// call's keys/values [n, kv_heads, t, head_dim] go to columns [0, t) of those rows — all of them in order when
    /// <c>rows</c> is null, else new row <c>rows[i]</c> gets call row <c>expand[i]</c> (the identity when null). A
    /// prompt pass attends only to its own keys, which are returned as they are.
    /// </summary>
    sealed class PromptSlots(DecodeBatch batch, int first, long count, Tensor? rows, Tensor? expand) : IKvCache
    {
        public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
        {
            Write(batch.keys[layer], k);
            Write(batch.values[layer], v);
            return (k, v);
        }

        void Write(Tensor pool, Tensor x)
        {
            using var target = pool.narrow(0, first, count).narrow(2, 0, x.shape[2]);   // [count, kv_heads, t, head_dim]
            if (rows is null) target.copy_(x);
            else target.index_copy_(0, rows, expand is null ? x : x.index_select(0, expand));
        }
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
