using Sprint.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>What the engine computes for one conformance case: logits at every prompt position, and a greedy continuation.</summary>
public sealed record ConformanceOutput(float[][] Logits, float[] LastLogits, int[] GreedyTokens);

/// <summary>
/// Computes conformance outputs the way the golden files define them: the prompt pass's logits at every position,
/// then <c>greedySteps</c> tokens by argmax (lowest id on ties, EOS not special) decoded with the KV cache. With
/// <c>batched</c>, all cases run as one batch, each row with its own pruned heads and length.
/// </summary>
public static class Conformance
{
    public static IReadOnlyList<ConformanceOutput> Run(CausalLM model, IReadOnlyList<(IReadOnlyList<int> InputIds, IReadOnlyList<PrunedHead> PrunedHeads)> cases,
        int greedySteps, bool batched)
    {
        using var _ = inference_mode();
        if (!batched) return cases.Select(c => RunBatch(model, [c], greedySteps)[0]).ToList();
        return RunBatch(model, cases, greedySteps);
    }

    static ConformanceOutput[] RunBatch(CausalLM model, IReadOnlyList<(IReadOnlyList<int> InputIds, IReadOnlyList<PrunedHead> PrunedHeads)> cases, int greedySteps)
    {
        var prompts = cases.Select(c => c.InputIds).ToList();
        var (batch, all) = DecodeBatch.Prefill(model, prompts, cases.Select(c => c.PrunedHeads).ToList(), greedySteps, allPositions: true);
        using var __ = batch;
        var logits = new float[cases.Count][][];
        int[] first;
        using (all)
        using (NewDisposeScope())
        {
            for (int r = 0; r < cases.Count; r++)
            {
                var row = all[r].narrow(0, 0, prompts[r].Count).contiguous();   // right-padded: position i at index i
                logits[r] = Enumerable.Range(0, prompts[r].Count).Select(i => row[i].data<float>().ToArray()).ToArray();
            }
            first = stack(Enumerable.Range(0, cases.Count).Select(r => all[r, prompts[r].Count - 1]).ToArray()).argmax(-1).data<long>().Select(x => (int)x).ToArray();
        }
        var greedy = batch.Greedy(first, Math.Max(0, greedySteps - 1));
        return Enumerable.Range(0, cases.Count).Select(r => new ConformanceOutput(logits[r], logits[r][^1], greedy[r].Take(greedySteps).ToArray())).ToArray();
    }
}
