using Sprint.Selector;
using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

/// <summary>The selector artifact, loaded in the background at start-up.</summary>
public sealed class SelectorModel(SelectorOptions options, ILogger<SelectorModel> log) : LoadedInBackground<SelectorArtifact>(log)
{
    public SelectorArtifact? Artifact => Value;

    protected override string What => "the selector";

    protected override SelectorArtifact Load()
    {
        var loaded = SelectorArtifact.Load(RepositoryPaths.Resolve(options.Artifact));
        if (!string.IsNullOrEmpty(options.ExpectedModelId) && loaded.Metadata.ModelId != options.ExpectedModelId)
        {
            loaded.Dispose();
            throw new InvalidOperationException($"{options.Artifact} was trained for model '{loaded.Metadata.ModelId}', not '{options.ExpectedModelId}'");
        }
        log.LogInformation("selector {Artifact} loaded: {Configs} configurations for {Model} ({Encoder})", options.Artifact,
            loaded.Metadata.Configs.Count, loaded.Metadata.ModelId, loaded.Metadata.EncoderId);
        return loaded;
    }
}
