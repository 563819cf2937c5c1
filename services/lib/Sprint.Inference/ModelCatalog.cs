using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace Sprint.Inference;

/// <summary>
/// Models loaded once per process and shared, keyed by folder and compute dtype: when one host runs both the
/// Generator and the Embedding service on the same checkpoint, the weights are in memory once. The loaded modules
/// are only read (every caller runs in inference mode), so they may be used from several threads.
/// </summary>
public sealed class ModelCatalog : IDisposable
{
    readonly ConcurrentDictionary<string, Lazy<LanguageModel>> models = new();

    public LanguageModel Get(string directory, ScalarType dtype, LoadFormat format = LoadFormat.Safetensors) =>
        models.GetOrAdd($"{Path.GetFullPath(directory)}|{dtype}|{format}", _ => new Lazy<LanguageModel>(() => LanguageModel.Load(directory, dtype, format: format))).Value;

    public void Dispose()
    {
        foreach (var model in models.Values.Where(m => m.IsValueCreated)) model.Value.Dispose();
        models.Clear();
    }
}
