using System.Text.Json;
using System.Text.Json.Serialization;
using Sprint.Core;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sprint.Selection;

public sealed record SelectorMetadata
{
    [JsonPropertyName("model_id")] public required string ModelId { get; init; }
    [JsonPropertyName("encoder_id")] public required string EncoderId { get; init; }
    [JsonPropertyName("configs")] public required IReadOnlyList<string> Configs { get; init; }
    [JsonPropertyName("input_dim")] public required int InputDim { get; init; }
    [JsonPropertyName("hidden_dim")] public required int HiddenDim { get; init; }
    [JsonPropertyName("dim")] public required int Dim { get; init; }
    [JsonPropertyName("tau")] public required double Tau { get; init; }
    [JsonPropertyName("training_data_sha256")] public required string TrainingDataSha256 { get; init; }
    /// <summary>Configurations by how many training questions they solved: the question-independent baseline.</summary>
    [JsonPropertyName("global_ranking")] public required IReadOnlyList<string> GlobalRanking { get; init; }

    /// <summary>
    /// Refuses (with <see cref="InvalidOperationException"/> naming both) a selector trained for another model: its
    /// model id must be <paramref name="modelId"/> and every configuration must be a head of <paramref name="shape"/>.
    /// </summary>
    public void CheckServes(string modelId, ModelShape shape)
    {
        if (ModelId != modelId)
            throw new FailedPreconditionException($"the selector was trained for model '{ModelId}', not '{modelId}'");
        foreach (var name in Configs.Concat(GlobalRanking))
        {
            try { HeadConfig.Parse(name).Head?.Validate(shape); }   // the head range rule is PrunedHead's
            catch (InvalidFieldException e)
            {
                throw new FailedPreconditionException($"the selector's configuration {name} is not a head of '{modelId}' ({shape.Layers} layers × {shape.Heads} heads): {e.Why}");
            }
        }
    }
}

/// <summary>A trained selector: weights (safetensors) plus JSON metadata beside them (<c>X.safetensors</c>, <c>X.json</c>).</summary>
public sealed class SelectorArtifact(SelectorNetwork network, SelectorMetadata metadata) : IDisposable
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public SelectorMetadata Metadata => metadata;

    /// <summary>Indices of the k best configurations for a question embedding, best first.</summary>
    public int[] TopK(float[] embedding, int k) => Rank(embedding).Take(k).Select(r => r.Index).ToArray();

    /// <summary>Every configuration's score (cosine similarity / τ) for a question embedding, best first.</summary>
    public (int Index, float Score)[] Rank(float[] embedding)
    {
        if (embedding.Length != metadata.InputDim)
            throw new ArgumentException($"embedding has {embedding.Length} dimensions; this selector takes {metadata.InputDim}", nameof(embedding));
        float[] scores;
        lock (network)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            scores = network.Scores(tensor(embedding).view(1, -1))[0].data<float>().ToArray();
        }
        return scores.Select((s, i) => (i, s)).OrderByDescending(r => r.s).ThenBy(r => r.i).ToArray();
    }

    public void Save(string weightsPath)
    {
        Safetensors.SaveStateDict(weightsPath, network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value));
        File.WriteAllText(Path.ChangeExtension(weightsPath, ".json"), JsonSerializer.Serialize(metadata, Indented));
    }

    public static SelectorArtifact Load(string weightsPath)
    {
        var metadata = JsonSerializer.Deserialize<SelectorMetadata>(File.ReadAllText(Path.ChangeExtension(weightsPath, ".json")))
            ?? throw new FormatException($"{weightsPath}: metadata missing");
        var network = new SelectorNetwork(metadata.InputDim, metadata.HiddenDim, metadata.Dim, metadata.Configs.Count, metadata.Tau);
        network.load_state_dict(Safetensors.LoadStateDict(weightsPath));
        network.eval();
        return new SelectorArtifact(network, metadata);
    }

    public void Dispose() => network.Dispose();
}
