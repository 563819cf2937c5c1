using System.Text.Json.Nodes;
using Sprint.Inference.Model;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sprint.Inference.Checkpoint;

/// <summary>
/// Reads Hugging Face weights (<c>model.safetensors</c>, or the shards named by <c>model.safetensors.index.json</c>;
/// F32, F16 or BF16) into a <see cref="CausalLM"/>, converting to its compute dtype. Every parameter must be present
/// with its exact shape; tensors the model does not use (e.g. a tied <c>lm_head.weight</c>) are ignored.
/// </summary>
public static class CheckpointLoader
{
    static readonly HashSet<ScalarType> StoredTypes = [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16];

    public static void Load(CausalLM model, string modelDir)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var remaining = new HashSet<string>(parameters.Keys);
        using var _ = no_grad();
        foreach (var file in WeightFiles(modelDir))
        {
            Dictionary<string, Tensor> tensors;
            try { tensors = Safetensors.LoadStateDict(file); }
            catch (Exception e) when (e is not ModelLoadException) { throw new ModelLoadException($"{file}: cannot read safetensors: {e.Message}"); }
            try
            {
                foreach (var (name, stored) in tensors)
                {
                    if (!parameters.TryGetValue(name, out var parameter)) continue;
                    if (!StoredTypes.Contains(stored.dtype))
                        throw new ModelLoadException($"{file}: tensor '{name}' is stored as {stored.dtype}; only F32, F16 and BF16 are supported");
                    if (!stored.shape.SequenceEqual(parameter.shape))
                        throw new ModelLoadException($"{file}: tensor '{name}' has shape {Shape(stored.shape)} but the config needs {Shape(parameter.shape)}");
                    parameter.copy_(stored);
                    remaining.Remove(name);
                }
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        if (remaining.Count > 0)
            throw new ModelLoadException($"{modelDir}: tensor '{remaining.Order().First()}' is missing from the checkpoint" +
                (remaining.Count > 1 ? $" ({remaining.Count} missing in all)" : ""));
    }

    static IEnumerable<string> WeightFiles(string modelDir)
    {
        var single = Path.Combine(modelDir, "model.safetensors");
        if (File.Exists(single)) return [single];
        var index = Path.Combine(modelDir, "model.safetensors.index.json");
        if (!File.Exists(index))
            throw new ModelLoadException($"{modelDir}: no model.safetensors or model.safetensors.index.json");
        var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
            ?? throw new ModelLoadException($"{index}: weight_map is missing");
        var files = map.Select(kv => kv.Value!.GetValue<string>()).Distinct().Order().Select(f => Path.Combine(modelDir, f)).ToList();
        foreach (var f in files.Where(f => !File.Exists(f)))
            throw new ModelLoadException($"{index}: shard {Path.GetFileName(f)} is listed but not present");
        return files;
    }

    static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
