using System.Diagnostics.Metrics;
using Sprint.Contracts.V1;

namespace Sprint.Gateway;

/// <summary>The gateway's meter ("Sprint.Gateway", through <see cref="IMeterFactory"/>): what each Solve counts when it ends.</summary>
public sealed class GatewayMetrics
{
    readonly Counter<long> solves, failedCandidates, verifierFallbacks, unneededCandidates, restartedCandidates, headFallbacks;
    readonly Histogram<double> duration;
    readonly ILogger<GatewayMetrics> log;

    public GatewayMetrics(IMeterFactory meters, ILogger<GatewayMetrics> log)
    {
        this.log = log;
        var meter = meters.Create("Sprint.Gateway");
        solves = meter.CreateCounter<long>("sprint.gateway.solves", "{solve}", "Solves answered with a verdict, by strategy");
        failedCandidates = meter.CreateCounter<long>("sprint.gateway.failed_candidates", "{candidate}", "Candidates that failed (their Solve may still have a verdict)");
        verifierFallbacks = meter.CreateCounter<long>("sprint.gateway.verifier_fallbacks", "{solve}", "Verified Solves that voted by plain majority because the Verifier failed or was slow");
        unneededCandidates = meter.CreateCounter<long>("sprint.gateway.unneeded_candidates", "{candidate}", "Candidates an adaptive Solve never started");
        restartedCandidates = meter.CreateCounter<long>("sprint.gateway.restarted_candidates", "{candidate}",
            "Unfinished candidates started over on another generator replica because theirs failed or stalled (each is a restart event in its Solve)");
        headFallbacks = meter.CreateCounter<long>("sprint.gateway.head_fallbacks", "{solve}",
            "sprint and global_top Solves planned as sampling because the embedding service or the head selector could not answer in time, by service");
        // Every degraded-Solve series exists from the start at 0 (a dashboard or an alert reads a rise, not an absence).
        foreach (var service in new[] { HeadSourceFailure.Embedding, HeadSourceFailure.Selector }) headFallbacks.Add(0, new KeyValuePair<string, object?>("service", service));
        verifierFallbacks.Add(0);
        restartedCandidates.Add(0);
        duration = meter.CreateHistogram<double>("sprint.gateway.solve_duration", "ms", "Time from a Solve's request to its verdict, by strategy");
    }

    /// <summary>A Solve's candidates have run (also when none could, and the Solve ends without a verdict).</summary>
    public void Ran(int failed, int unneeded)
    {
        failedCandidates.Add(failed);
        unneededCandidates.Add(unneeded);
    }

    /// <summary>A Solve's heads could not be chosen (<paramref name="service"/> failed): it was planned as sampling.</summary>
    public void HeadsFellBack(string service) => headFallbacks.Add(1, new KeyValuePair<string, object?>("service", service));

    /// <summary>Candidates of a failed or stalled replica start over on another one.</summary>
    public void Restarted(int candidates) => restartedCandidates.Add(candidates);

    public void Solved(SolveSpec spec, SolveOutcome outcome, Verdict verdict, TimeSpan elapsed)
    {
        var strategy = new KeyValuePair<string, object?>("strategy", Core.StrategyNames.Name(spec.Strategy));
        if (Answers.Vote.UsesChecks(spec.Aggregation) && verdict.Aggregation == Aggregation.Majority)
        {
            log.LogWarning("the verifier could not check every candidate ({Reason}): this Solve voted by plain majority", outcome.Checks?.Failure);
            verifierFallbacks.Add(1);
        }
        solves.Add(1, strategy);
        duration.Record(elapsed.TotalMilliseconds, strategy);
    }
}
