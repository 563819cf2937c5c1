using Sprint.Core;
using Sprint.Inference.Generation;
using static TorchSharp.torch;

namespace Sprint.Inference.Tests;

/// <summary>The sampling filters' boundaries, on a distribution written by hand.</summary>
public sealed class SamplerTests
{
    /// <summary>Which of three tokens with probabilities .5/.3/.2 are ever drawn under the filters, over 400 seeds.</summary>
    static HashSet<int> Drawn(double topP, int topK = 0)
    {
        using var logits = tensor(new[] { MathF.Log(.5f), MathF.Log(.3f), MathF.Log(.2f) }).view(1, 3);
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 400; seed++)
        {
            using var generator = new Generator(seed, CPU);
            var (tokens, _) = TokenSampler.Choose(logits, [new SamplingParams { Temperature = 1, TopP = topP, TopK = topK, Seed = seed }], [generator]);
            seen.Add(tokens[0]);
        }
        return seen;
    }

    /// <summary>
    /// Top-p keeps the smallest prefix whose mass reaches p: the token whose probability crosses p stays. At .7 the
    /// mass .5 has not reached it, so the .3 token is kept (two tokens), and the .2 token is not.
    /// </summary>
    [Theory]
    [InlineData(0.7, new[] { 0, 1 })]
    [InlineData(0.5, new[] { 0 })]      // .5 reaches .5 exactly: one token
    [InlineData(0.81, new[] { 0, 1, 2 })]
    [InlineData(1.0, new[] { 0, 1, 2 })]
    public void Top_p_keeps_the_token_that_crosses_the_threshold(double topP, int[] kept) =>
        Assert.Equal(kept, Drawn(topP).Order());

    [Fact]
    public void Top_k_keeps_the_k_most_likely_tokens() => Assert.Equal([0, 1], Drawn(1.0, topK: 2).Order());
}
