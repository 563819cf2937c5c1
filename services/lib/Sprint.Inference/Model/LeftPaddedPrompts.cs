using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>
/// Prompts of different lengths as one left-padded batch: ids [rows, longest], per-row positions counted from each
/// row's first token, and the causal attention mask with padding keys masked (a padding query attends to itself,
/// so no softmax row is empty). Tensors belong to the caller's dispose scope.
/// </summary>
public sealed record LeftPaddedPrompts(Tensor Ids, Tensor Positions, Tensor Attend, long[] Starts, long Length)
{
    public static LeftPaddedPrompts Build(IReadOnlyList<IReadOnlyList<int>> prompts, Device device)
    {
        int rows = prompts.Count;
        long t = prompts.Max(p => p.Count);
        var starts = prompts.Select(p => t - p.Count).ToArray();
        var ids = new long[rows * t];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < prompts[r].Count; i++) ids[r * t + starts[r] + i] = prompts[r][i];

        var startT = tensor(starts, device: device).view(rows, 1);
        var columns = arange(t, device: device).view(1, t);
        var positions = (columns - startT).clamp_min(0);
        var keyCol = columns.view(1, 1, 1, t);
        var queryCol = columns.view(1, 1, t, 1);
        var attend = (keyCol >= startT.view(rows, 1, 1, 1)).logical_and(keyCol <= queryCol).logical_or(keyCol == queryCol);
        return new LeftPaddedPrompts(tensor(ids, device: device).view(rows, t), positions, attend, starts, t);
    }

    /// <summary>[rows, longest] float mask, 1 on real tokens.</summary>
    public Tensor Valid(ScalarType dtype) => (arange(Length, device: Ids.device).view(1, -1) >= tensor(Starts, device: Ids.device).view(-1, 1)).to(dtype);
}
