using Sprint.Inference.Checkpoint;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

// Probing representations (sprint analyze probes), beside the forward pass rather than inside it: the hidden states
// of every layer and each head's attention entropy, computed with the same layers and no cache or pruning.

public sealed partial class CausalLM
{
    /// <summary>
    /// Hugging Face's <c>output_hidden_states</c>: the embeddings and every layer's output, the last one after the final
    /// norm — layers + 1 tensors [batch, seq, hidden], no cache, no pruning (for probing representations).
    /// </summary>
    public Tensor[] HiddenStates(Tensor inputIds, Tensor positions, Tensor attentionMask)
    {
        var (cos, sin, groupMask) = LayerInputs(positions, attentionMask);
        var states = new List<Tensor> { model.embed_tokens.Forward(inputIds) };                  // [b, t, hidden]
        for (int l = 0; l < Config.NumLayers; l++)
            states.Add(model.layers[l].Forward(states[^1], cos, sin, groupMask, l, null, null)); // [b, t, hidden]
        states[^1] = model.norm.Forward(states[^1]);
        return [.. states];
    }

    /// <summary>
    /// The entropy of every head's attention distribution, averaged over the real query positions: [batch, layers ×
    /// heads], layer-major (for probing representations; the attention is computed explicitly, not by SDPA).
    /// </summary>
    /// <param name="attentionMask">[batch, 1, seq, keys] bool, as for <see cref="Forward"/>.</param>
    /// <param name="validQueries">[batch, seq] 1 on real tokens, 0 on padding.</param>
    public Tensor AttentionEntropies(Tensor inputIds, Tensor positions, Tensor attentionMask, Tensor validQueries)
    {
        var (cos, sin, groupMask) = LayerInputs(positions, attentionMask);
        var h = model.embed_tokens.Forward(inputIds);
        var entropies = new List<Tensor>();
        for (int l = 0; l < Config.NumLayers; l++)
        {
            entropies.Add(model.layers[l].AttentionEntropy(h, cos, sin, attentionMask, validQueries));   // [b, heads]
            h = model.layers[l].Forward(h, cos, sin, groupMask, l, null, null);
        }
        return cat(entropies, 1);   // [b, layers * heads]
    }
}
