namespace Sprint.Core;

/// <summary>How the N candidates of a question are chosen (see <see cref="CandidatePlanner"/>).</summary>
public enum Strategy
{
    /// <summary>The selector's top N configurations for the question, greedy each.</summary>
    Sprint,
    /// <summary>N unpruned samples at a temperature.</summary>
    Sampling,
    /// <summary>N distinct pruned heads in a seeded random order, greedy each.</summary>
    RandomHeads,
    /// <summary>The N configurations that solved most training questions, the same for every question.</summary>
    GlobalTop,
    /// <summary>One unpruned greedy candidate, whatever N.</summary>
    Greedy,
}

public static class StrategyNames
{
    /// <summary>Every strategy, in declaration order.</summary>
    public static IReadOnlyList<Strategy> All { get; } = Enum.GetValues<Strategy>();

    /// <summary>The name used on command lines, in reports and in the plan: sprint, sampling, random_heads, global_top, greedy.</summary>
    public static string Name(this Strategy s) => s switch
    {
        Strategy.Sprint => "sprint",
        Strategy.Sampling => "sampling",
        Strategy.RandomHeads => "random_heads",
        Strategy.GlobalTop => "global_top",
        Strategy.Greedy => "greedy",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static Strategy Parse(string name, string field = "strategy")
    {
        var key = name.Trim().ToLowerInvariant();
        foreach (var s in All)
            if (s.Name() == key) return s;
        throw new InvalidFieldException(field, $"unknown '{Quote.Short(name)}'; expected one of {string.Join(", ", All.Select(s => s.Name()))}");
    }

    /// <summary>Whether the strategy needs a trained selector (its configurations or its global ranking).</summary>
    public static bool NeedsSelector(this Strategy s) => s is Strategy.Sprint or Strategy.GlobalTop;
}
