using Sprint.Inference.Checkpoint;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference;

/// <summary>Where the weights come from (vLLM's <c>--load-format</c>).</summary>
public enum LoadFormat
{
    /// <summary>The folder's safetensors files.</summary>
    Safetensors,
    /// <summary>
    /// Random weights (seeded, Hugging Face's initialisation) of the shapes in config.json: realistic shapes for
    /// benchmarks without downloading a checkpoint. Its outputs mean nothing.
    /// </summary>
    Dummy,
}

/// <summary>A Hugging Face model folder loaded for inference: config, weights, tokenizer (if any) and stop tokens.</summary>
public sealed class LanguageModel : IDisposable
{
    readonly bool ownsModel;

    LanguageModel(string directory, ModelConfig config, CausalLM model, HfTokenizer? tokenizer, IReadOnlyList<int> eos, bool ownsModel = true)
    {
        this.ownsModel = ownsModel;
        Directory = directory;
        Config = config;
        Model = model;
        Tokenizer = tokenizer;
        EosTokenIds = eos;
    }

    public string Directory { get; }
    /// <summary>The folder name, used to name the model in results and artifacts.</summary>
    public string Id => IdOf(Directory);

    /// <summary>A model's id: its folder's name (what a selector artifact records as the model it was trained for).</summary>
    public static string IdOf(string directory) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
    public ModelConfig Config { get; }
    public CausalLM Model { get; }
    /// <summary>Null for folders without tokenizer files (token-id-only checkpoints such as the golden fixture).</summary>
    public HfTokenizer? Tokenizer { get; }
    /// <summary>EOS ids of config.json and generation_config.json together.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    public static LanguageModel Load(string directory, ScalarType dtype = ScalarType.Float32, Device? device = null, LoadFormat format = LoadFormat.Safetensors)
    {
        if (!System.IO.Directory.Exists(directory)) throw new ModelLoadException($"model folder {directory} does not exist");
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"compute dtype {dtype} is not supported (float32, float16, bfloat16)", nameof(dtype));
        var config = ModelConfig.Load(directory);
        var generation = GenerationConfig.Load(directory);
        var model = new CausalLM(config, dtype, device);
        try
        {
            if (format == LoadFormat.Dummy) model.InitializeWeights(seed: 0);
            else CheckpointLoader.Load(model, directory);
            model.eval();
            bool hasTokenizer = File.Exists(Path.Combine(directory, "tokenizer.json")) || File.Exists(Path.Combine(directory, "vocab.json"));
            var tokenizer = hasTokenizer ? HfTokenizer.Load(directory) : null;
            var eos = config.EosTokenIds.Concat(generation.EosTokenIds).Distinct().ToArray();
            return new LanguageModel(directory, config, model, tokenizer, eos);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Wraps a model that lives elsewhere (e.g. one being trained); disposing the wrapper leaves it alone.</summary>
    public static LanguageModel Wrap(string directory, CausalLM model, HfTokenizer? tokenizer, IReadOnlyList<int> eosTokenIds) =>
        new(directory, model.Config, model, tokenizer, eosTokenIds, ownsModel: false);

    public static ScalarType ParseDType(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"unknown dtype '{name}' (float32, float16, bfloat16)"),
    };

    public static LoadFormat ParseLoadFormat(string name) => name.ToLowerInvariant() switch
    {
        "safetensors" or "auto" => LoadFormat.Safetensors,
        "dummy" => LoadFormat.Dummy,
        _ => throw new ArgumentException($"unknown load format '{name}' (safetensors, dummy)"),
    };

    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => dtype.ToString(),
    };

    public void Dispose()
    {
        if (ownsModel) Model.Dispose();
    }
}
