using System.Text.Json;
using System.Text.Json.Serialization;
using Sprint.Core;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sprint.Verification;

/// <summary>What a trained verifier is for and how it was made (<c>verifier.json</c> beside <c>verifier.safetensors</c>).</summary>
public sealed record VerifierMetadata
{
    /// <summary>The language model whose states it reads; it serves no other.</summary>
    [JsonPropertyName("model_id")] public required string ModelId { get; init; }
    /// <summary><see cref="SolutionFeatures.FeaturesId"/> of the features it was trained on.</summary>
    [JsonPropertyName("features_id")] public required string FeaturesId { get; init; }
    [JsonPropertyName("input_dim")] public required int InputDim { get; init; }
    [JsonPropertyName("hidden_dim")] public required int HiddenDim { get; init; }
    [JsonPropertyName("training_data_sha256")] public required string TrainingDataSha256 { get; init; }
    [JsonPropertyName("train_candidates")] public required int TrainCandidates { get; init; }
    [JsonPropertyName("dev_candidates")] public required int DevCandidates { get; init; }
    [JsonPropertyName("seed")] public required int Seed { get; init; }
    /// <summary>Measured on the dev split after calibration.</summary>
    [JsonPropertyName("dev_auc")] public required double DevAuc { get; init; }
    [JsonPropertyName("dev_ece")] public required double DevEce { get; init; }

    /// <summary>Refuses (<see cref="FailedPreconditionException"/> naming both) a verifier made for other features or another model.</summary>
    public void CheckServes(SolutionFeatures features)
    {
        if (FeaturesId != features.FeaturesId)
        {
            var model = features.FeaturesId.Split(':')[0];
            throw new FailedPreconditionException(ModelId != model
                ? $"the verifier was trained for model '{ModelId}', not '{model}'"
                : $"the verifier was trained on features '{FeaturesId}', this build reads '{features.FeaturesId}'");
        }
        if (InputDim != features.Dimension)
            throw new FailedPreconditionException($"the verifier takes {InputDim} features, model '{ModelId}' gives {features.Dimension}");
    }
}

/// <summary>A trained verifier: network weights (safetensors) and metadata (JSON) beside them.</summary>
public sealed class VerifierArtifact(VerifierNetwork network, VerifierMetadata metadata) : IDisposable
{
    /// <summary>The file names in a model folder.</summary>
    public const string WeightsFile = "verifier.safetensors";

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public VerifierMetadata Metadata => metadata;
    public VerifierNetwork Network => network;

    /// <summary>Calibrated probabilities for feature rows (thread-safe).</summary>
    public float[] Probabilities(float[][] rows)
    {
        if (rows.Length == 0) return [];
        lock (network)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var x = tensor(rows.SelectMany(r => r).ToArray()).view(rows.Length, metadata.InputDim);
            return network.Probabilities(x).data<float>().ToArray();
        }
    }

    public void Save(string weightsPath)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(weightsPath)) is { } folder) Directory.CreateDirectory(folder);
        Safetensors.SaveStateDict(weightsPath, network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value));
        File.WriteAllText(Path.ChangeExtension(weightsPath, ".json"), JsonSerializer.Serialize(metadata, Indented));
    }

    /// <summary>Loads <c>X.safetensors</c> and <c>X.json</c>; a missing, truncated or mismatched file is a <see cref="LoadException"/> naming it.</summary>
    public static VerifierArtifact Load(string weightsPath)
    {
        var metaPath = Path.ChangeExtension(weightsPath, ".json");
        foreach (var file in new[] { weightsPath, metaPath })
            if (!File.Exists(file)) throw new LoadException($"verifier file {file} not found");
        VerifierMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<VerifierMetadata>(File.ReadAllText(metaPath)) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new LoadException($"verifier metadata {metaPath} is not valid: {e.Message}");
        }
        if (metadata.InputDim < 1 || metadata.HiddenDim < 1)
            throw new LoadException($"verifier metadata {metaPath}: input_dim and hidden_dim must be positive");
        var network = new VerifierNetwork(metadata.InputDim, metadata.HiddenDim);
        try
        {
            network.load_state_dict(Safetensors.LoadStateDict(weightsPath));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            network.Dispose();
            throw new LoadException($"verifier weights {weightsPath} cannot be loaded ({e.GetType().Name}: {e.Message})");
        }
        network.eval();
        return new VerifierArtifact(network, metadata);
    }

    public void Dispose() => network.Dispose();
}

/// <summary>
/// The outcome verifier: <see cref="SolutionFeatures"/> of a language model and a <see cref="VerifierArtifact"/> trained
/// on them. <see cref="Score"/> gives each candidate text the probability that its final answer is right.
/// </summary>
public sealed class OutcomeVerifier : IDisposable
{
    readonly VerifierArtifact artifact;

    public OutcomeVerifier(SolutionFeatures features, VerifierArtifact artifact)
    {
        artifact.Metadata.CheckServes(features);
        Features = features;
        this.artifact = artifact;
    }

    /// <summary>Loads <c>verifier.safetensors</c> from the model's folder (or <paramref name="weightsPath"/>) and checks that it serves the model.</summary>
    public static OutcomeVerifier Load(Sprint.Inference.LanguageModel lm, string? weightsPath = null) =>
        new(new SolutionFeatures(lm), VerifierArtifact.Load(weightsPath ?? Path.Combine(lm.Directory, VerifierArtifact.WeightsFile)));

    public SolutionFeatures Features { get; }
    public VerifierMetadata Metadata => artifact.Metadata;

    /// <summary>Names the verifier in responses and logs, e.g. "outcome-verifier:sprint-tiny-math".</summary>
    public string Name => $"outcome-verifier:{artifact.Metadata.ModelId}";

    /// <summary>Calibrated probabilities of feature rows (<see cref="SolutionFeatures.Read"/>).</summary>
    public float[] Probabilities(float[][] rows) => artifact.Probabilities(rows);

    /// <summary>Calibrated P(final answer right) of each text, in order.</summary>
    public float[] Score(string question, IReadOnlyList<string> texts, int batchSize = 16) =>
        artifact.Probabilities(Features.Read(question, texts, batchSize));

    /// <summary>Calibrated P(final answer right) of (question, text) rows, in order.</summary>
    public float[] Score(IReadOnlyList<(string Question, string Text)> rows, int batchSize = 16) =>
        artifact.Probabilities(Features.Read(rows, batchSize));

    public void Dispose() => artifact.Dispose();
}
