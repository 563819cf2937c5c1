namespace Sprint.Contracts.V1;

/// <summary>Configuration names: "none" (unpruned) or "layer:head".</summary>
public static class HeadConfigurations
{
    public const string Unpruned = "none";

    public static HeadConfiguration FromName(string name)
    {
        var config = new HeadConfiguration { Name = name };
        if (name == Unpruned) return config;
        var parts = name.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var layer) || !int.TryParse(parts[1], out var head))
            throw new FormatException($"'{name}' is not a configuration; expected \"none\" or LAYER:HEAD");
        config.PrunedHeads.Add(new PrunedHead { Layer = layer, Head = head });
        return config;
    }

    public static HeadConfiguration Pruned(int layer, int head) => FromName($"{layer}:{head}");
}
