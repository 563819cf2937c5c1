using Sprint.Core;

namespace Sprint.Contracts.V1;

/// <summary>
/// The one place where wire messages become domain types and back (head configurations, pruned heads,
/// strategies). Services convert at their edge and work with <see cref="Sprint.Core"/> types inside.
/// </summary>
public static class ProtoMapping
{
    public static HeadConfiguration ToProto(this HeadConfig config)
    {
        var message = new HeadConfiguration { Name = config.Name };
        if (config.Head is { } h) message.PrunedHeads.Add(h.ToProto());
        return message;
    }

    public static PrunedHead ToProto(this Core.PrunedHead head) => new() { Layer = head.Layer, Head = head.Head };

    public static Core.PrunedHead ToCore(this PrunedHead head) => new(head.Layer, head.Head);

    public static Strategy ToProto(this Core.Strategy strategy) => strategy switch
    {
        Core.Strategy.Sprint => Strategy.Sprint,
        Core.Strategy.Sampling => Strategy.Sampling,
        Core.Strategy.RandomHeads => Strategy.RandomHeads,
        Core.Strategy.GlobalTop => Strategy.GlobalTop,
        Core.Strategy.Greedy => Strategy.Greedy,
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null),
    };

    /// <summary>STRATEGY_UNSPECIFIED is the default, STRATEGY_SPRINT; a number this server does not know is INVALID_ARGUMENT.</summary>
    public static Core.Strategy ToCore(this Strategy strategy) => strategy switch
    {
        Strategy.Unspecified or Strategy.Sprint => Core.Strategy.Sprint,
        Strategy.Sampling => Core.Strategy.Sampling,
        Strategy.RandomHeads => Core.Strategy.RandomHeads,
        Strategy.GlobalTop => Core.Strategy.GlobalTop,
        Strategy.Greedy => Core.Strategy.Greedy,
        _ => throw new InvalidFieldException("strategy", $"unknown strategy {(int)strategy}; expected one of " +
            string.Join(", ", StrategyNames.All.Select(s => s.ToProto().ToWireName()))),
    };

    /// <summary>The enum value's name in the .proto file, e.g. STRATEGY_RANDOM_HEADS.</summary>
    public static string ToWireName(this Strategy strategy) =>
        GatewayReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Strategy").FindValueByNumber((int)strategy)?.Name
        ?? ((int)strategy).ToString();
}
