using System.Text.Json.Nodes;

namespace Sprint.Inference.Checkpoint;

/// <summary>The parts of <c>generation_config.json</c> the engine honours.</summary>
public sealed record GenerationConfig(IReadOnlyList<int> EosTokenIds)
{
    public static GenerationConfig Load(string modelDir)
    {
        var path = Path.Combine(modelDir, "generation_config.json");
        if (!File.Exists(path)) return new GenerationConfig([]);
        var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject();
        return new GenerationConfig(ModelConfig.TokenIds(json?["eos_token_id"]));
    }
}
