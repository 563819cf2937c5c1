using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sprint.Inference.Checkpoint;

/// <summary>The architecture read from a Hugging Face <c>config.json</c> (Qwen2 and Llama decoders).</summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required double RopeTheta { get; init; }
    public required double RmsNormEps { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections: always for Qwen2, <c>attention_bias</c> for Llama.</summary>
    public required bool QkvBias { get; init; }
    /// <summary>Bias on o_proj: Llama's <c>attention_bias</c>; never for Qwen2.</summary>
    public required bool OutputBias { get; init; }
    public required bool MlpBias { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    public int? BosTokenId { get; init; }
    public string? TorchDtype { get; init; }

    public int GroupSize => NumHeads / NumKeyValueHeads;
    /// <summary>Layers × query heads: what a pruned head must fall inside.</summary>
    public Sprint.Core.ModelShape Shape => new(NumLayers, NumHeads);

    public static ModelConfig Load(string modelDir)
    {
        var path = Path.Combine(modelDir, "config.json");
        if (!File.Exists(path)) throw new ModelLoadException($"{path} not found: a model folder needs a Hugging Face config.json");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new ModelLoadException($"{path} is empty"); }
        catch (JsonException e) { throw new ModelLoadException($"{path} is not valid JSON: {e.Message}"); }
        return Parse(json, path);
    }

    public static ModelConfig Parse(JsonObject json, string source = "config.json")
    {
        var modelType = json["model_type"]?.GetValue<string>()
            ?? throw new ModelLoadException($"{source}: model_type is missing");
        if (modelType is not ("qwen2" or "llama"))
            throw new ModelLoadException($"{source}: model_type '{modelType}' is not supported (supported: qwen2, llama)");

        if (json["use_sliding_window"]?.GetValue<bool>() == true)
            throw new ModelLoadException($"{source}: sliding-window attention (use_sliding_window=true) is not supported");

        var ropeNode = (json["rope_scaling"] ?? json["rope_parameters"]) as JsonObject;
        var ropeType = ropeNode?["rope_type"]?.GetValue<string>() ?? ropeNode?["type"]?.GetValue<string>();
        if (ropeType is not (null or "default"))
            throw new ModelLoadException($"{source}: rope scaling '{ropeType}' is not supported (only default RoPE)");
        var ropeTheta = Double(json, "rope_theta") ?? Double(ropeNode, "rope_theta") ?? 10000.0;

        int hidden = Int(json, "hidden_size", source);
        int heads = Int(json, "num_attention_heads", source);
        int kvHeads = IntOrNull(json, "num_key_value_heads") ?? heads;
        int headDim = IntOrNull(json, "head_dim") ?? hidden / heads;
        if (heads % kvHeads != 0)
            throw new ModelLoadException($"{source}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        if (headDim % 2 != 0) throw new ModelLoadException($"{source}: head_dim {headDim} must be even for RoPE");
        var act = json["hidden_act"]?.GetValue<string>() ?? "silu";
        if (act != "silu") throw new ModelLoadException($"{source}: hidden_act '{act}' is not supported (only silu)");

        bool isQwen = modelType == "qwen2";
        bool attentionBias = json["attention_bias"]?.GetValue<bool>() ?? false;
        return new ModelConfig
        {
            ModelType = modelType,
            VocabSize = Int(json, "vocab_size", source),
            HiddenSize = hidden,
            IntermediateSize = Int(json, "intermediate_size", source),
            NumLayers = Int(json, "num_hidden_layers", source),
            NumHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            RopeTheta = ropeTheta,
            RmsNormEps = Double(json, "rms_norm_eps") ?? 1e-6,
            TieWordEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            QkvBias = isQwen || attentionBias,
            OutputBias = !isQwen && attentionBias,
            MlpBias = !isQwen && (json["mlp_bias"]?.GetValue<bool>() ?? false),
            MaxPositionEmbeddings = IntOrNull(json, "max_position_embeddings") ?? 2048,
            EosTokenIds = TokenIds(json["eos_token_id"]),
            BosTokenId = IntOrNull(json, "bos_token_id"),
            TorchDtype = json["torch_dtype"]?.GetValue<string>() ?? json["dtype"]?.GetValue<string>(),
        };
    }

    internal static IReadOnlyList<int> TokenIds(JsonNode? node) => node switch
    {
        null => [],
        JsonArray a => a.Select(x => x!.GetValue<int>()).ToArray(),
        _ => [node.GetValue<int>()],
    };

    static int Int(JsonObject json, string key, string source) =>
        IntOrNull(json, key) ?? throw new ModelLoadException($"{source}: {key} is missing");

    static int? IntOrNull(JsonObject? json, string key) =>
        json?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<int>() : null;

    static double? Double(JsonObject? json, string key) =>
        json?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;
}

/// <summary>A model folder that cannot be loaded; the message names the file and the problem.</summary>
public sealed class ModelLoadException(string message) : Sprint.Core.LoadException(message);
