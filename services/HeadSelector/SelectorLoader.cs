using Sprint.Inference.Checkpoint;
using Sprint.Selection;
using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

/// <summary>
/// The selector artifact, loaded in the background at start-up and checked against the model it must serve (id
/// and shape). Absent: the service answers FAILED_PRECONDITION with the commands that make one.
/// </summary>
public sealed class SelectorLoader(SelectorOptions options, ILogger<SelectorLoader> log) : LoadedInBackground<SelectorArtifact>(log)
{
    public override bool Required => options.Required;

    protected override string What => "the selector";

    protected override SelectorArtifact Load()
    {
        var modelDir = RepositoryPaths.Resolve(options.Model);
        var path = RepositoryPaths.Resolve(options.ArtifactPath);
        if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".json")))
            throw new NotProvidedException("no selector for this model (strategies sprint and global_top need one; sampling, random_heads and " +
                "greedy work without). Make one: sprint profile --model MODEL --data TRAIN.jsonl --out profile.jsonl, " +
                "then sprint train-selector --profile profile.jsonl --out MODEL/selector.safetensors",
                $"(looked for {path}; model {modelDir})");
        var loaded = SelectorArtifact.Load(path);
        try { loaded.Metadata.CheckServes(Inference.LanguageModel.IdOf(modelDir), ModelConfig.Load(modelDir).Shape); }
        catch
        {
            loaded.Dispose();
            throw;
        }
        log.LogInformation("selector {Artifact} loaded: {Configs} configurations for {Model} ({Encoder})", path,
            loaded.Metadata.Configs.Count, loaded.Metadata.ModelId, loaded.Metadata.EncoderId);
        return loaded;
    }
}
