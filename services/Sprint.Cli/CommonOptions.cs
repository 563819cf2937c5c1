using System.CommandLine;
using Sprint.Inference;
using Sprint.Inference.Checkpoint;
using TorchSharp;

namespace Sprint.Cli;

/// <summary>Options several commands share, and the error handling around loading a model.</summary>
static class CommonOptions
{
    public static Option<string> Model() => new("--model")
    {
        Description = "Hugging Face model folder (config.json, *.safetensors, tokenizer files)",
        Required = true,
    };

    public static Option<string> DType() => new("--dtype")
    {
        Description = "Compute dtype: float32, bfloat16 or float16",
        DefaultValueFactory = _ => "float32",
    };

    public static Option<string> LoadFormat() => new("--load-format")
    {
        Description = "safetensors (the folder's weights) or dummy (random weights of config.json's shapes: realistic shapes for benchmarks, meaningless outputs)",
        DefaultValueFactory = _ => "safetensors",
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Intra-op CPU threads for libtorch (default: all cores but one, left to the host's own threads)",
        DefaultValueFactory = _ => Sprint.Inference.TorchThreads.Default,
    };


    /// <summary>Loads the model or prints why not (exit code 2).</summary>
    public static LanguageModel? LoadModel(ParseResult parse, Option<string> model, Option<string> dtype, Option<int> threads, Option<string>? loadFormat = null)
    {
        if (parse.GetValue(threads) is > 0 and var n) torch.set_num_threads(n);
        try
        {
            var format = loadFormat is null ? Inference.LoadFormat.Safetensors : LanguageModel.ParseLoadFormat(parse.GetValue(loadFormat)!);
            return LanguageModel.Load(parse.GetValue(model)!, LanguageModel.ParseDType(parse.GetValue(dtype)!), format: format);
        }
        catch (Exception e) when (e is ModelLoadException or ArgumentException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return null;
        }
    }

    public static IReadOnlyList<int> ParseIntList(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, out var v) ? v : throw new ArgumentException($"{option}: '{s}' is not an integer"))
            .ToArray();
}
