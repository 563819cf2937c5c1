using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Gateway;

/// <summary>
/// Solve, as glue: validate (<see cref="SolveSpec"/>), charge the caller's token budget, plan (<see cref="CandidatePlanner"/>, the same code as sprint
/// eval, asking the upstream services through <see cref="GatewayPlanSources"/>), stream the plan, let
/// <see cref="CandidateRunner"/> run the candidates while this method is the response stream's only writer
/// (<see cref="FanIn"/>), then
/// stream the verdict (<see cref="SolveVerdict"/>).
/// </summary>
public sealed class GatewayGrpcService(Upstreams upstreams, CandidateRunner runner, GatewayOptions options, GatewayMetrics metrics,
    Sprint.ServiceDefaults.TokenBudget budget)
    : GatewayService.GatewayServiceBase
{
    public override async Task Solve(SolveRequest request, IServerStreamWriter<SolveResponse> responseStream, ServerCallContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spec = SolveSpec.From(request, options);
        budget.Charge(context.GetHttpContext(), spec.N * spec.MaxNewTokens);   // the caller's token budget, before any work
        var ct = context.CancellationToken;
        var sources = new GatewayPlanSources(upstreams, context.Deadline);
        var plan = await CandidatePlanner.PlanAsync(spec.ToPlanRequest(), sources, ct).ConfigureAwait(false);
        await responseStream.WriteAsync(new SolveResponse { Plan = sources.ToProto(plan, spec) }, ct).ConfigureAwait(false);

        SolveOutcome? outcome = null;
        await foreach (var e in FanIn.Merge<SolveResponse>(async events => outcome = await runner.RunAsync(plan, spec, events, context.Deadline, ct), ct).ConfigureAwait(false))
            await responseStream.WriteAsync(e, ct).ConfigureAwait(false);

        var verdict = outcome!.Vote(spec.Aggregation);
        await responseStream.WriteAsync(new SolveResponse { Verdict = verdict }, ct).ConfigureAwait(false);
        metrics.Solved(spec, outcome, verdict, clock.Elapsed);
    }
}
