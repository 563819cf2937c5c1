using Sprint.Inference.Checkpoint;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sprint.Inference.Model;

/// <summary>
/// The Hugging Face Qwen2 / Llama decoder (<c>Qwen2ForCausalLM</c>, <c>LlamaForCausalLM</c>), written to be read
/// next to <c>modeling_qwen2.py</c>. Module and parameter names equal the checkpoint's tensor names, so
/// <c>state_dict()</c> is the Hugging Face state dict.
///
/// SPRINT's head pruning: <c>headMask</c> is [batch, layers, heads] of 1/0; in layer l the attention output
/// [batch, seq, heads, head_dim] is multiplied by it before <c>o_proj</c>, so every row zeroes its own heads in
/// every pass. q/k/v, the key/value heads and the KV cache are untouched.
/// </summary>
public sealed partial class CausalLM : nn.Module
{
    public ModelConfig Config { get; }
    readonly DecoderStack model;
    readonly Dense? lm_head;
    readonly Tensor invFreq;

    public CausalLM(ModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base("CausalLM")
    {
        Config = config;
        device ??= CPU;
        model = new DecoderStack(config, dtype, device);
        if (!config.TieWordEmbeddings) lm_head = new Dense(config.HiddenSize, config.VocabSize, false, dtype, device);
        RegisterComponents();
        // inv_freq[i] = theta^(-2i/d), in float32 as Hugging Face computes it (a buffer, not a checkpoint tensor).
        invFreq = (1.0 / pow(config.RopeTheta, arange(0, config.HeadDim, 2, ScalarType.Int64).to(ScalarType.Float32) / config.HeadDim))
            .to(ScalarType.Float32).to(device);
    }

    public ScalarType DType => model.embed_tokens.weight.dtype;
    public Device Device => model.embed_tokens.weight.device;

    /// <summary>Runs the decoder; returns the final-norm hidden states [batch, seq, hidden].</summary>
    /// <param name="inputIds">[batch, seq] int64.</param>
    /// <param name="positions">[batch, seq] int64, each row counting its own tokens from 0.</param>
    /// <param name="attentionMask">[batch, 1, seq, keys] bool, true where a query may attend to a key.</param>
    /// <param name="cache">Past keys/values; null to attend only within <paramref name="inputIds"/>.</param>
    /// <param name="headMask">[batch, layers, heads] in the compute dtype, 0 for a pruned head; null for none.</param>
    /// <param name="prunedLayers">Layers where some row prunes a head (the others skip the multiply); null means all.</param>
    public Tensor Forward(Tensor inputIds, Tensor positions, Tensor attentionMask, IKvCache? cache = null,
        Tensor? headMask = null, IReadOnlySet<int>? prunedLayers = null)
    {
        using var scope = NewDisposeScope();
        var (cos, sin, groupMask) = LayerInputs(positions, attentionMask);                 // groupMask [b, 1, G*t, keys]
        var h = model.embed_tokens.Forward(inputIds);                                       // [b, t, hidden]
        for (int l = 0; l < Config.NumLayers; l++)
        {
            var layerMask = headMask is not null && (prunedLayers is null || prunedLayers.Contains(l)) ? headMask[.., l] : null;   // [b, heads]
            h = model.layers[l].Forward(h, cos, sin, groupMask, l, cache, layerMask);                                          // [b, t, hidden]
        }
        return model.norm.Forward(h).MoveToOuterDisposeScope();   // [b, t, hidden]
    }

    // The pieces of Forward, for a prompt pass that schedules its rows layer by layer (DecodeBatch's shared prefill).

    /// <summary>[b, t] ids → [b, t, hidden].</summary>
    internal Tensor Embed(Tensor inputIds) => model.embed_tokens.Forward(inputIds);

    /// <summary>
    /// cos/sin [b, 1, t, head_dim] and the attention mask repeated per query group [b, 1, G*t, keys]: grouped-query
    /// attention stacks each key/value head's G query heads along the query axis (see Attention), so the mask is
    /// repeated G times along that axis, once for all layers. The one place the repeat is written.
    /// </summary>
    internal (Tensor Cos, Tensor Sin, Tensor GroupMask) LayerInputs(Tensor positions, Tensor attentionMask)
    {
        var (cos, sin) = Rotary(positions);
        int group = Config.GroupSize;
        return (cos, sin, group > 1 ? attentionMask.repeat(1, 1, group, 1) : attentionMask);
    }

    /// <summary>Decoder layer <paramref name="layer"/>: [b, t, hidden] → [b, t, hidden]; <paramref name="headMask"/> [b, heads] or null.</summary>
    internal Tensor Layer(int layer, Tensor h, Tensor cos, Tensor sin, Tensor groupMask, IKvCache? cache, Tensor? headMask) =>
        model.layers[layer].Forward(h, cos, sin, groupMask, layer, cache, headMask);

    /// <summary>The final RMSNorm: [..., hidden] → [..., hidden].</summary>
    internal Tensor FinalNorm(Tensor h) => model.norm.Forward(h);

    /// <summary>Logits in float32 for hidden states of any leading shape.</summary>
    public Tensor Logits(Tensor hidden)
    {
        var weight = lm_head?.weight ?? model.embed_tokens.weight;
        using var logits = nn.functional.linear(hidden, weight);   // [..., vocab]
        return logits.to(ScalarType.Float32);
    }

    /// <summary>Hugging Face's initialisation for training from scratch: N(0, std) weights, zero biases, unit norms.</summary>
    public void InitializeWeights(long seed, double std = 0.02)
    {
        using var _ = no_grad();
        using var generator = new Generator((ulong)seed, Device);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, std, generator);
        }
    }

    /// <summary>cos/sin of <c>cat(angle, angle)</c>, [batch, 1, seq, head_dim], computed in float32 then cast.</summary>
    (Tensor Cos, Tensor Sin) Rotary(Tensor positions)
    {
        var angles = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;   // [b, t, head_dim/2]
        var emb = cat([angles, angles], -1).unsqueeze(1);                        // [b, 1, t, head_dim]
        return (emb.cos().to(DType), emb.sin().to(DType));
    }

    internal static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);   // [..., head_dim]: (-x2, x1)
        return x * cos + rotated * sin;
    }

    sealed class DecoderStack : nn.Module
    {
        public readonly TokenEmbedding embed_tokens;
        public readonly ModuleList<DecoderLayer> layers;
        public readonly RmsNorm norm;

        public DecoderStack(ModelConfig c, ScalarType dtype, Device device) : base("model")
        {
            embed_tokens = new TokenEmbedding(c.VocabSize, c.HiddenSize, dtype, device);
            layers = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(_ => new DecoderLayer(c, dtype, device)).ToArray());
            norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
            RegisterComponents();
        }
    }

    sealed class DecoderLayer : nn.Module
    {
        readonly Attention self_attn;
        readonly Mlp mlp;
        readonly RmsNorm input_layernorm;
        readonly RmsNorm post_attention_layernorm;

        public DecoderLayer(ModelConfig c, ScalarType dtype, Device device) : base("layer")
        {
            self_attn = new Attention(c, dtype, device);
            mlp = new Mlp(c, dtype, device);
            input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
            post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, int layer, IKvCache? cache, Tensor? headMask)
        {
            x = x + self_attn.Forward(input_layernorm.Forward(x), cos, sin, mask, layer, cache, headMask);   // [b, t, hidden]
            return x + mlp.Forward(post_attention_layernorm.Forward(x));                                   // [b, t, hidden]
        }

        /// <summary>This layer's per-head attention entropy for input <paramref name="x"/>, mean over real queries: [b, heads].</summary>
        public Tensor AttentionEntropy(Tensor x, Tensor cos, Tensor sin, Tensor mask, Tensor validQueries) =>
            self_attn.Entropy(input_layernorm.Forward(x), cos, sin, mask, validQueries);
    }

    sealed partial class Attention : nn.Module
    {
        readonly Dense q_proj, k_proj, v_proj, o_proj;
        readonly int heads, kvHeads, headDim;

        public Attention(ModelConfig c, ScalarType dtype, Device device) : base("self_attn")
        {
            heads = c.NumHeads; kvHeads = c.NumKeyValueHeads; headDim = c.HeadDim;
            q_proj = new Dense(c.HiddenSize, heads * headDim, c.QkvBias, dtype, device);
            k_proj = new Dense(c.HiddenSize, kvHeads * headDim, c.QkvBias, dtype, device);
            v_proj = new Dense(c.HiddenSize, kvHeads * headDim, c.QkvBias, dtype, device);
            o_proj = new Dense(heads * headDim, c.HiddenSize, c.OutputBias, dtype, device);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, int layer, IKvCache? cache, Tensor? headMask)
        {
            long b = x.shape[0], t = x.shape[1];
            var q = q_proj.Forward(x).view(b, t, heads, headDim).transpose(1, 2);     // [b, heads, t, head_dim]
            var k = k_proj.Forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);   // [b, kv_heads, t, head_dim]
            var v = v_proj.Forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);   // [b, kv_heads, t, head_dim]
            q = ApplyRotary(q, cos, sin);
            k = ApplyRotary(k, cos, sin);
            if (cache is not null) (k, v) = cache.Update(layer, k, v);   // [b, kv_heads, keys, head_dim]

            // Grouped-query attention without copying the cache: query heads j*G .. j*G+G-1 share key/value head j,
            // so each group's G heads are stacked along the query axis (`mask` is already repeated to match).
            var grouped = q.reshape(b, kvHeads, heads / kvHeads * t, headDim);   // [b, kv_heads, G*t, head_dim]
            var attn = nn.functional.scaled_dot_product_attention(grouped, k, v, mask)
                .view(b, heads, t, headDim).transpose(1, 2); // [b, t, heads, head_dim]
            if (headMask is not null) attn = attn * headMask.view(b, 1, heads, 1);   // SPRINT: zero the pruned heads' outputs
            return o_proj.Forward(attn.reshape(b, t, heads * headDim));               // [b, t, hidden]
        }
    }

    sealed partial class Attention
    {
        /// <summary>Per head, the entropy of softmax(q·k/√d) over the allowed keys, averaged over real queries: [b, heads].</summary>
        public Tensor Entropy(Tensor x, Tensor cos, Tensor sin, Tensor mask, Tensor validQueries)
        {
            long b = x.shape[0], t = x.shape[1];
            var q = ApplyRotary(q_proj.Forward(x).view(b, t, heads, headDim).transpose(1, 2), cos, sin);     // [b, heads, t, head_dim]
            var k = ApplyRotary(k_proj.Forward(x).view(b, t, kvHeads, headDim).transpose(1, 2), cos, sin);   // [b, kv_heads, t, head_dim]
            k = k.repeat_interleave(heads / kvHeads, dim: 1);                                                 // [b, heads, t, head_dim]
            var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(headDim);                                   // [b, heads, t, t]
            var p = scores.masked_fill(mask.logical_not(), double.NegativeInfinity).softmax(-1);
            var entropy = -(p * p.clamp_min(1e-30).log()).sum(-1);                                           // [b, heads, t]
            var valid = validQueries.view(b, 1, t).to(entropy.dtype);
            return (entropy * valid).sum(-1) / valid.sum(-1);                                                 // [b, heads]
        }
    }

    sealed class Mlp : nn.Module
    {
        readonly Dense gate_proj, up_proj, down_proj;

        public Mlp(ModelConfig c, ScalarType dtype, Device device) : base("mlp")
        {
            gate_proj = new Dense(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
            up_proj = new Dense(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
            down_proj = new Dense(c.IntermediateSize, c.HiddenSize, c.MlpBias, dtype, device);
            RegisterComponents();
        }

        // [b, t, hidden] → [b, t, intermediate] (SiLU-gated) → [b, t, hidden]
        public Tensor Forward(Tensor x) => down_proj.Forward(nn.functional.silu(gate_proj.Forward(x)) * up_proj.Forward(x));
    }

    /// <summary>Hugging Face RMSNorm: normalise in float32, cast back, then scale.</summary>
    sealed class RmsNorm : nn.Module
    {
        public readonly Parameter weight;
        readonly double eps;

        public RmsNorm(int size, double eps, ScalarType dtype, Device device) : base("norm")
        {
            this.eps = eps;
            weight = nn.Parameter(ones(size, dtype: dtype, device: device));
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            var dtype = x.dtype;
            var x32 = dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
            var normed = x32 * rsqrt(x32.pow(2).mean([-1], keepdim: true) + eps);   // [..., hidden], float32
            return weight * (dtype == ScalarType.Float32 ? normed : normed.to(dtype));
        }
    }
}

/// <summary>A linear layer whose weights come from a checkpoint (created uninitialised: no random init cost).</summary>
public sealed class Dense : nn.Module
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    public Dense(int inFeatures, int outFeatures, bool hasBias, ScalarType dtype, Device device) : base("linear")
    {
        weight = nn.Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device));
        if (hasBias) bias = nn.Parameter(empty(outFeatures, dtype: dtype, device: device));
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => nn.functional.linear(x, weight, bias);
}

/// <summary>Token embedding table, created uninitialised like <see cref="Dense"/>.</summary>
public sealed class TokenEmbedding : nn.Module
{
    public readonly Parameter weight;

    public TokenEmbedding(int vocab, int hidden, ScalarType dtype, Device device) : base("embedding")
    {
        weight = nn.Parameter(empty(vocab, hidden, dtype: dtype, device: device));
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids)
    {
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.flatten()).view(shape);
    }
}

/// <summary>Where the decoder keeps past keys and values.</summary>
public interface IKvCache
{
    /// <summary>Stores this step's keys/values [batch, kv_heads, seq, head_dim] and returns all keys/values to attend to.</summary>
    (Tensor Keys, Tensor Values) Update(int layer, Tensor keys, Tensor values);
}
