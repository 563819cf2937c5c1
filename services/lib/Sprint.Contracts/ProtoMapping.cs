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

    public static Aggregation ToProto(this Answers.Aggregation aggregation) => aggregation switch
    {
        Answers.Aggregation.Majority => Aggregation.Majority,
        Answers.Aggregation.VerifiedMajority => Aggregation.VerifiedMajority,
        Answers.Aggregation.VerifierWeighted => Aggregation.VerifierWeighted,
        _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, null),
    };

    /// <summary>AGGREGATION_UNSPECIFIED is the default, AGGREGATION_VERIFIED_MAJORITY; an unknown number is INVALID_ARGUMENT.</summary>
    public static Answers.Aggregation ToCore(this Aggregation aggregation) => aggregation switch
    {
        Aggregation.Unspecified or Aggregation.VerifiedMajority => Answers.Aggregation.VerifiedMajority,
        Aggregation.Majority => Answers.Aggregation.Majority,
        Aggregation.VerifierWeighted => Answers.Aggregation.VerifierWeighted,
        _ => throw new InvalidFieldException("aggregation", $"unknown aggregation {(int)aggregation}; expected AGGREGATION_MAJORITY, AGGREGATION_VERIFIED_MAJORITY or AGGREGATION_VERIFIER_WEIGHTED"),
    };

    /// <summary>Unset: null (all candidates at once); zero fields take <see cref="Answers.AdaptivePolicy.Default"/>'s.</summary>
    public static Answers.AdaptivePolicy? ToCore(this AdaptiveParameters? adaptive)
    {
        if (adaptive is null) return null;
        var d = Answers.AdaptivePolicy.Default;
        if (adaptive.Initial < 0) throw new InvalidFieldException("adaptive.initial", $"must be >= 0 (0 takes the default {d.Initial}), got {adaptive.Initial}");
        if (adaptive.Wave < 0) throw new InvalidFieldException("adaptive.wave", $"must be >= 0 (0 takes the default {d.Wave}), got {adaptive.Wave}");
        if (adaptive.Agree < 0) throw new InvalidFieldException("adaptive.agree", $"must be >= 0 (0 takes the default {d.Agree}), got {adaptive.Agree}");
        if (!(adaptive.Margin >= 0 && adaptive.Margin <= 64)) throw new InvalidFieldException("adaptive.margin", $"must be in [0, 64] (0: the agree rule), got {adaptive.Margin}");
        return new Answers.AdaptivePolicy(adaptive.Initial == 0 ? d.Initial : adaptive.Initial, adaptive.Wave == 0 ? d.Wave : adaptive.Wave,
            adaptive.Agree == 0 ? d.Agree : adaptive.Agree, adaptive.Margin > 0 ? adaptive.Margin : null);
    }

    /// <summary>
    /// Unset or REJECTION_MODE_UNSPECIFIED: <see cref="Answers.RejectionPolicy.Default"/>. The cap (max_candidates, 0:
    /// 2n) is checked against n and the gateway's largest n by <paramref name="maxN"/>.
    /// </summary>
    public static (Answers.RejectionPolicy Policy, int Cap) ToCore(this RejectionParameters? rejection, int n, int maxN)
    {
        var d = Answers.RejectionPolicy.Default;
        var mode = (rejection?.Mode ?? RejectionMode.Unspecified) switch
        {
            RejectionMode.Unspecified => d.Mode,
            RejectionMode.None => Answers.Rejection.None,
            RejectionMode.Stop => Answers.Rejection.Stop,
            RejectionMode.Replace => Answers.Rejection.Replace,
            var other => throw new InvalidFieldException("rejection.mode", $"unknown rejection mode {(int)other}; expected REJECTION_MODE_NONE, _STOP or _REPLACE"),
        };
        var guard = (rejection?.EveryoneFails ?? EveryoneFailsRule.Unspecified) switch
        {
            EveryoneFailsRule.Unspecified => d.Guard,
            EveryoneFailsRule.KeepLast => Answers.EveryoneFails.KeepLast,
            EveryoneFailsRule.KeepAlways => Answers.EveryoneFails.KeepAlways,
            EveryoneFailsRule.StopAll => Answers.EveryoneFails.StopAll,
            var other => throw new InvalidFieldException("rejection.everyone_fails", $"unknown rule {(int)other}"),
        };
        var policy = mode == Answers.Rejection.None ? Answers.RejectionPolicy.None : new Answers.RejectionPolicy(mode, guard);
        int cap = policy.Cap(n);
        if (rejection?.MaxCandidates is > 0 and var max)
        {
            if (mode != Answers.Rejection.Replace) throw new InvalidFieldException("rejection.max_candidates", "applies to REJECTION_MODE_REPLACE only");
            if (max < n || max > 4 * n) throw new InvalidFieldException("rejection.max_candidates", $"must be in n..4n ({n}..{4 * n}; 0 takes 2n), got {max}");
            cap = max;
        }
        else if (rejection?.MaxCandidates < 0) throw new InvalidFieldException("rejection.max_candidates", $"must be >= 0, got {rejection.MaxCandidates}");
        if (cap > maxN)
        {
            if (rejection?.MaxCandidates > 0) throw new InvalidFieldException("rejection.max_candidates", $"must be at most the largest n, {maxN}, got {cap}");
            cap = Math.Max(n, maxN);   // the default 2n, cut to what one Solve may start
        }
        return (policy, cap);
    }

    public static RejectionParameters ToProto(this Answers.RejectionPolicy policy, int cap) => new()
    {
        Mode = policy.Mode switch { Answers.Rejection.Stop => RejectionMode.Stop, Answers.Rejection.Replace => RejectionMode.Replace, _ => RejectionMode.None },
        EveryoneFails = policy.Guard switch { Answers.EveryoneFails.KeepAlways => EveryoneFailsRule.KeepAlways, Answers.EveryoneFails.StopAll => EveryoneFailsRule.StopAll, _ => EveryoneFailsRule.KeepLast },
        MaxCandidates = cap,
    };

    public static AdaptiveParameters ToProto(this Answers.AdaptivePolicy policy) =>
        new() { Initial = policy.Initial, Wave = policy.Wave, Agree = policy.Agree, Margin = (float)(policy.Margin ?? 0) };

    public static StepFailure ToProto(this Answers.StepFailure f) =>
        new() { Step = f.Step, Text = Quote.Short(f.Text), Written = Quote.Short(f.Written), Computed = f.Computed };

    public static CheckResult ToProto(this Answers.StepCheck check, int index)
    {
        var result = new CheckResult { Index = index, CheckedSteps = check.CheckedSteps, FailedSteps = check.FailedSteps };
        if (check.FirstFailure is { } f)
            result.FirstFailure = f.ToProto();
        return result;
    }

    /// <summary>A check as the vote reads it (the score travels apart: <c>CheckResult.Score</c>).</summary>
    public static Answers.StepCheck ToCore(this CheckResult result) =>
        new(result.CheckedSteps, result.FailedSteps, result.FirstFailure is { } f ? new Answers.StepFailure(f.Step, f.Text, f.Written, f.Computed) : null);

    /// <summary>The enum value's name in the .proto file, e.g. STRATEGY_RANDOM_HEADS.</summary>
    public static string ToWireName(this Strategy strategy) =>
        GatewayReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Strategy").FindValueByNumber((int)strategy)?.Name
        ?? ((int)strategy).ToString();
}
