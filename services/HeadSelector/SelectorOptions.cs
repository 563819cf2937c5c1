namespace Sprint.HeadSelector;

/// <summary>Configuration section "Selector".</summary>
public sealed class SelectorOptions
{
    public const string Section = "Selector";

    /// <summary>The artifact's weights; its metadata is the .json file beside it.</summary>
    public string Artifact { get; set; } = "models/sprint-tiny-math/selector.safetensors";
    /// <summary>When set, the artifact must have been trained for this model id (refused at load otherwise).</summary>
    public string? ExpectedModelId { get; set; }
}
