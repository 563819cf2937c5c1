using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sprint.Verification;

/// <summary>
/// The outcome verifier's network: features standardised by the training set's mean and spread (kept as buffers),
/// a two-layer MLP to one logit, and a temperature fitted afterwards on the dev split (calibration). The probability
/// that the candidate's final answer is right is sigmoid(logit / temperature).
/// </summary>
public sealed class VerifierNetwork : nn.Module
{
    readonly Tensor feature_mean;
    readonly Tensor feature_std;
    readonly Tensor temperature;
    readonly Linear hidden_layer;
    readonly Linear output_layer;
    readonly Dropout dropout;

    public VerifierNetwork(int inputDim, int hiddenDim, double dropoutRate = 0.1) : base("verifier")
    {
        feature_mean = zeros(inputDim);
        feature_std = ones(inputDim);
        temperature = ones(1);
        hidden_layer = nn.Linear(inputDim, hiddenDim);
        output_layer = nn.Linear(hiddenDim, 1);
        dropout = nn.Dropout(dropoutRate);
        register_buffer("feature_mean", feature_mean);
        register_buffer("feature_std", feature_std);
        register_buffer("temperature", temperature);
        RegisterComponents();
    }

    /// <summary>Logits [rows] for features [rows, input], before the temperature.</summary>
    public Tensor Logits(Tensor features)
    {
        var x = (features - feature_mean) / feature_std;
        return output_layer.forward(dropout.forward(nn.functional.gelu(hidden_layer.forward(x)))).squeeze(-1);
    }

    /// <summary>Calibrated probabilities [rows].</summary>
    public Tensor Probabilities(Tensor features) => sigmoid(Logits(features) / temperature);

    public double Temperature => temperature.item<float>();

    public void SetStandardisation(Tensor mean, Tensor std)
    {
        using var _ = no_grad();
        feature_mean.copy_(mean);
        feature_std.copy_(std.clamp_min(1e-4));
    }

    public void SetTemperature(double value)
    {
        using var _ = no_grad();
        temperature.fill_(value);
    }
}
