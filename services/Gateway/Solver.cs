using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>
/// One Solve, for every protocol that asks for one (gRPC, gRPC-Web and HTTP/JSON through <see cref="GatewayGrpcService"/>,
/// OpenAI's chat completions through <see cref="OpenAi.OpenAiEndpoints"/>): validate (<see cref="SolveSpec"/>), charge the
/// caller's token budget, plan (<see cref="CandidatePlanner"/>, the same code as sprint eval, asking the upstream
/// services through <see cref="GatewayPlanSources"/>; as sampling when the heads cannot be chosen: <see cref="HeadsFallback"/>), run the candidates (<see cref="CandidateRunner"/>, merged into
/// this stream by <see cref="FanIn"/>), vote (<see cref="SolveVerdict"/>). The events come out as the gRPC stream has
/// them: the plan, then deltas, results and checks, then the verdict; a bad field throws before the plan.
/// </summary>
public sealed class Solver(Upstreams upstreams, HeadsFallback heads, CandidateRunner runner, GatewayOptions options, GatewayMetrics metrics, TokenBudget budget,
    ILogger<Solver> log)
{
    public async IAsyncEnumerable<SolveResponse> SolveAsync(SolveRequest request, HttpContext caller, DateTime deadline,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spec = SolveSpec.From(request, options);
        budget.Charge(caller, spec.PlanLength * spec.MaxNewTokens);   // the caller's token budget, before any work: every candidate that may start
        var sources = new GatewayPlanSources(upstreams, deadline);
        CandidatePlan plan;
        Contracts.V1.PlanFallback? fallback;
        try { (plan, fallback) = await heads.PlanAsync(spec, sources, ct).ConfigureAwait(false); }
        catch (HeadSourceFailure e) { throw UpstreamFailures.ForCallers(e.Call, log, e.Service); }   // not an outage: e.g. FAILED_PRECONDITION
        catch (Grpc.Core.RpcException e) { throw UpstreamFailures.ForCallers(e, log, "generator"); }   // ModelInfo
        yield return new SolveResponse { Plan = sources.ToProto(plan, spec, fallback) };

        SolveOutcome? outcome = null;
        await foreach (var e in FanIn.Merge<SolveResponse>(async events => outcome = await runner.RunAsync(plan, spec, events, deadline, ct), ct).ConfigureAwait(false))
            yield return e;

        var verdict = outcome!.Vote(spec.Aggregation);
        yield return new SolveResponse { Verdict = verdict };
        metrics.Solved(spec, outcome, verdict, clock.Elapsed);
    }
}
