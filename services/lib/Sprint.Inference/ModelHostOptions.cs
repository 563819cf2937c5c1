namespace Sprint.Inference;

/// <summary>
/// The settings of a service that hosts a language model (the Generator, and the Embedding service's encoder) and
/// the one way they load it: threads configured, the folder resolved, the weights taken from the process's
/// <see cref="ModelCatalog"/> (one copy per folder, dtype and format), a tokenizer required.
/// </summary>
public abstract class ModelHostOptions
{
    /// <summary>The shipped default model, relative to a clone (or the program's folder in an image).</summary>
    public const string DefaultModel = "models/sprint-tiny-math";

    /// <summary>Hugging Face model folder (config.json, safetensors, tokenizer).</summary>
    public string Model { get; set; } = DefaultModel;
    /// <summary>Compute dtype: float32, bfloat16 or float16.</summary>
    public string DType { get; set; } = "float32";
    /// <summary>safetensors (the folder's weights) or dummy (random weights of config.json's shapes, for benchmarks).</summary>
    public string LoadFormat { get; set; } = "safetensors";
    /// <summary>libtorch intra-op threads; 0 takes <see cref="TorchThreads.Default"/>.</summary>
    public int Threads { get; set; }
    /// <summary>System turn of the chat template; empty for none (the shipped model is trained without one).</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>The system prompt as the prompt format takes it: null when empty.</summary>
    public string? SystemTurn => string.IsNullOrEmpty(SystemPrompt) ? null : SystemPrompt;

    /// <param name="resolve">Finds the model folder (relative paths from the working directory or the program's folder).</param>
    public LanguageModel Load(ModelCatalog catalog, Func<string, string> resolve)
    {
        TorchThreads.Configure(Threads);
        var lm = catalog.Get(resolve(Model), LanguageModel.ParseDType(DType), LanguageModel.ParseLoadFormat(LoadFormat));
        if (lm.Tokenizer is null) throw new InvalidOperationException($"{Model} has no tokenizer files");
        return lm;
    }
}
