using Sprint.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Generation;

/// <summary>Chooses each row's next token from float32 logits [rows, vocab].</summary>
public static class TokenSampler
{
    /// <summary>Returns the chosen ids and their log-probabilities under the unmodified distribution.</summary>
    public static (int[] Tokens, float[] LogProbs) Choose(Tensor logits, IReadOnlyList<SamplingParams> sampling, IReadOnlyList<Generator?> generators)
    {
        using var scope = NewDisposeScope();
        int rows = (int)logits.shape[0];
        // argmax returns the first maximum, i.e. the lowest id on ties.
        var tokens = logits.argmax(-1).data<long>().Select(x => (int)x).ToArray();
        for (int r = 0; r < rows; r++)
            if (!sampling[r].IsGreedy) tokens[r] = SampleRow(logits[r], sampling[r], generators[r]);
        var chosen = tensor(tokens.Select(t => (long)t).ToArray(), device: logits.device).view(rows, 1);
        var logProbs = logits.log_softmax(-1).gather(1, chosen).view(rows).cpu().data<float>().ToArray();
        return (tokens, logProbs);
    }

    static int SampleRow(Tensor logits, SamplingParams p, Generator? generator)
    {
        var scaled = logits / p.Temperature;
        if (p.TopK > 0 && p.TopK < scaled.shape[0])
        {
            var kth = scaled.topk(p.TopK).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        var probs = scaled.softmax(-1);
        if (p.TopP < 1.0)
        {
            var (sorted, order) = probs.sort(descending: true);
            // Keep the smallest prefix whose mass reaches top_p: drop a token when the mass before it already does.
            var before = sorted.cumsum(0) - sorted;
            var drop = before >= p.TopP;
            drop[0] = false;
            probs = probs.scatter(0, order, sorted.masked_fill(drop, 0));
        }
        return (int)probs.multinomial(1, false, generator).item<long>();
    }
}
