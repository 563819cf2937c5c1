using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sprint.Selection;

/// <summary>
/// SPRINT's selector: a two-layer MLP projects the question embedding, each configuration has a learnable
/// embedding, and the score of (question, configuration) is their cosine similarity divided by τ.
/// </summary>
public sealed class SelectorNetwork : nn.Module
{
    readonly Linear proj_in;
    readonly Linear proj_out;
    readonly Parameter config_embeddings;

    public SelectorNetwork(int inputDim, int hiddenDim, int dim, int configs, double tau) : base("selector")
    {
        Tau = tau;
        proj_in = nn.Linear(inputDim, hiddenDim);
        proj_out = nn.Linear(hiddenDim, dim);
        config_embeddings = nn.Parameter(randn(configs, dim) * 0.1);
        RegisterComponents();
    }

    public double Tau { get; }

    /// <summary>Scores [batch, configs] for question embeddings [batch, input].</summary>
    public Tensor Scores(Tensor questions)
    {
        var q = nn.functional.normalize(proj_out.forward(nn.functional.gelu(proj_in.forward(questions))), p: 2, dim: 1);
        var c = nn.functional.normalize(config_embeddings, p: 2, dim: 1);
        return q.matmul(c.T) / Tau;
    }
}
