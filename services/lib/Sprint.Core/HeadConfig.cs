namespace Sprint.Core;

/// <summary>The layers × query heads of a decoder: what a pruned head must fall inside.</summary>
public readonly record struct ModelShape(int Layers, int Heads)
{
    public int PrunableHeads => Layers * Heads;
}

/// <summary>One pruned attention head: query head <see cref="Head"/> of layer <see cref="Layer"/>, both 0-based.</summary>
public readonly record struct PrunedHead(int Layer, int Head)
{
    /// <summary>The rule for a pruned head, checked once here: both indices inside the model.</summary>
    /// <param name="field">How the client names this head, e.g. <c>pruned_heads[2]</c>.</param>
    public void Validate(ModelShape shape, string field = "pruned_head")
    {
        if (Layer < 0 || Layer >= shape.Layers)
            throw new InvalidFieldException($"{field}.layer", $"{Layer} is outside 0..{shape.Layers - 1}");
        if (Head < 0 || Head >= shape.Heads)
            throw new InvalidFieldException($"{field}.head", $"{Head} is outside 0..{shape.Heads - 1}");
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

/// <summary>
/// A decoding configuration, SPRINT's unit of diversity: the unpruned model (<c>"none"</c>) or the model with one
/// attention head zeroed (<c>"layer:head"</c>). The selector scores configurations, the planner assigns one to each
/// candidate, the profiler decodes every one of them.
/// </summary>
public readonly record struct HeadConfig(PrunedHead? Head)
{
    public const string UnprunedName = "none";

    public static HeadConfig Unpruned => default;

    public string Name => Head?.ToString() ?? UnprunedName;
    public IReadOnlyList<PrunedHead> PrunedHeads => Head is { } h ? [h] : [];

    public static HeadConfig Parse(string name) => name == UnprunedName ? Unpruned : new(PrunedHead.Parse(name));

    /// <summary>
    /// The unpruned configuration, then every head of the chosen layers (all by default) in layer-major order —
    /// the order in which profiles, selectors and random heads number them.
    /// </summary>
    public static IReadOnlyList<HeadConfig> All(ModelShape shape, (int From, int To)? layers = null)
    {
        var (from, to) = layers ?? (0, shape.Layers - 1);
        if (from < 0 || to >= shape.Layers || from > to)
            throw new ArgumentException($"layers {from}-{to} are outside 0-{shape.Layers - 1}");
        return [Unpruned, .. Enumerable.Range(from, to - from + 1).SelectMany(l => Enumerable.Range(0, shape.Heads).Select(h => new HeadConfig(new PrunedHead(l, h))))];
    }

    public override string ToString() => Name;
}
