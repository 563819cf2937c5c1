namespace Sprint.HeadSelector;

/// <summary>Configuration section "Selector".</summary>
public sealed class SelectorOptions
{
    public const string Section = "Selector";

    /// <summary>
    /// The model folder the generators serve: the artifact must have been trained for it (its folder name is the
    /// model id, its config.json the layers and heads every configuration must fit), or it is refused at load.
    /// </summary>
    public string Model { get; set; } = Inference.ModelHostOptions.DefaultModel;
    /// <summary>The artifact's weights (its metadata is the .json file beside it); unset: MODEL/selector.safetensors.</summary>
    public string? Artifact { get; set; }
    /// <summary>
    /// Whether the process is unready without a selector (a HeadSelector of its own: true). <c>sprint serve</c>
    /// sets false: the suite then serves every strategy but sprint and global_top.
    /// </summary>
    public bool Required { get; set; } = true;

    public string ArtifactPath => string.IsNullOrWhiteSpace(Artifact) ? Path.Combine(Model, "selector.safetensors") : Artifact;
}
