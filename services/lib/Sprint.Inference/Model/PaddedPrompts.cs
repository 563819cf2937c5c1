using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>
/// Prompts of different lengths as one padded batch: ids [rows, longest], per-row positions counted from each
/// row's first token, and the causal attention mask with padding keys masked (a padding query attends to itself,
/// so no softmax row is empty). Row r's tokens sit in columns [Starts[r], Starts[r] + Lengths[r]).
/// <see cref="Left"/> aligns every row's last token in the last column (an encoder pools there);
/// <see cref="Right"/> starts every row in column 0 (the KV cache stores a row from its slot's column 0).
/// Tensors belong to the caller's dispose scope.
/// </summary>
public sealed record PaddedPrompts(Tensor Ids, Tensor Positions, Tensor Attend, long[] Starts, long[] Lengths, long Length)
{
    public static PaddedPrompts Left(IReadOnlyList<IReadOnlyList<int>> prompts, Device device) => Build(prompts, device, left: true);

    public static PaddedPrompts Right(IReadOnlyList<IReadOnlyList<int>> prompts, Device device) => Build(prompts, device, left: false);

    static PaddedPrompts Build(IReadOnlyList<IReadOnlyList<int>> prompts, Device device, bool left)
    {
        int rows = prompts.Count;
        long t = prompts.Max(p => p.Count);
        var starts = prompts.Select(p => left ? t - p.Count : 0).ToArray();
        var ids = new long[rows * t];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < prompts[r].Count; i++) ids[r * t + starts[r] + i] = prompts[r][i];

        var startT = tensor(starts, device: device).view(rows, 1);
        var columns = arange(t, device: device).view(1, t);
        var positions = (columns - startT).clamp_min(0);                                    // [rows, t]
        var keyCol = columns.view(1, 1, 1, t);
        var queryCol = columns.view(1, 1, t, 1);
        var attend = (keyCol >= startT.view(rows, 1, 1, 1)).logical_and(keyCol <= queryCol).logical_or(keyCol == queryCol);   // [rows, 1, t, t]
        return new PaddedPrompts(tensor(ids, device: device).view(rows, t), positions, attend, starts,
            prompts.Select(p => (long)p.Count).ToArray(), t);
    }

    /// <summary>Each row's last real column [rows].</summary>
    public long[] LastColumns => Starts.Zip(Lengths, (s, n) => s + n - 1).ToArray();

    /// <summary>
    /// Mean pooling over the real tokens: [rows, longest, hidden] → [rows, hidden] in float32 (the question encoder's
    /// vector before normalisation, and the probes' per-layer means).
    /// </summary>
    public Tensor MeanPool(Tensor hidden)
    {
        var valid = Valid(ScalarType.Float32).unsqueeze(-1);   // [rows, longest, 1]
        return (hidden.to(ScalarType.Float32) * valid).sum(1) / valid.sum(1);
    }

    /// <summary>[rows, longest] float mask, 1 on real tokens.</summary>
    public Tensor Valid(ScalarType dtype)
    {
        var columns = arange(Length, device: Ids.device).view(1, -1);
        var start = tensor(Starts, device: Ids.device).view(-1, 1);
        return (columns >= start).logical_and(columns < start + tensor(Lengths, device: Ids.device).view(-1, 1)).to(dtype);
    }
}
