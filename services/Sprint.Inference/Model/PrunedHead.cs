using Sprint.Inference.Checkpoint;

namespace Sprint.Inference.Model;

/// <summary>One pruned attention head: query head <see cref="Head"/> of layer <see cref="Layer"/>, both 0-based.</summary>
public readonly record struct PrunedHead(int Layer, int Head)
{
    public void Validate(ModelConfig config)
    {
        if (Layer < 0 || Layer >= config.NumLayers)
            throw new ArgumentOutOfRangeException(nameof(Layer), $"pruned head layer {Layer} is outside 0..{config.NumLayers - 1}");
        if (Head < 0 || Head >= config.NumHeads)
            throw new ArgumentOutOfRangeException(nameof(Head), $"pruned head {Head} is outside 0..{config.NumHeads - 1}");
    }

    /// <summary>Parses <c>L:H</c>.</summary>
    public static PrunedHead Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var l) || !int.TryParse(parts[1], out var h))
            throw new FormatException($"'{text}' is not a pruned head; expected LAYER:HEAD, e.g. 3:5");
        return new PrunedHead(l, h);
    }

    public override string ToString() => $"{Layer}:{Head}";
}
