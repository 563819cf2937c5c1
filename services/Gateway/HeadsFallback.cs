using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>A call to the embedding service or the head selector failed while a Solve's heads were chosen.</summary>
public sealed class HeadSourceFailure(string service, RpcException inner) : Exception($"{service}: {inner.StatusCode}", inner)
{
    public const string Embedding = "embedding";
    public const string Selector = "head-selector";   // the service's name in compose and Kubernetes

    /// <summary>Which service: <see cref="Embedding"/> or <see cref="Selector"/>.</summary>
    public string Service { get; } = service;
    public RpcException Call { get; } = inner;
}

/// <summary>
/// Plans a Solve, and when its strategy needs the heads chosen for it (sprint: the embedding service and the head
/// selector; global_top: the selector's ranking) and they cannot be had in time — a service unreachable or still
/// loading on every replica, or no answer within <see cref="GatewayOptions.HeadSelectionTimeout"/> — plans it as
/// sampling instead: the same question, n, seed and sampling overrides through the same <see cref="CandidatePlanner"/>,
/// so the same seed gives the same fallback plan. Sampling, because it needs neither service and the evaluation
/// (EVAL.md, N = 8, verified vote) puts it beside SPRINT's heads (55.5 % against 56.1 %) and above the question-
/// independent global top heads (52.5 %), which would need the selector anyway. The plan's <c>fallback</c> says what
/// was asked for and why; the metric <c>sprint.gateway.head_fallbacks</c> counts it by service; the log has one
/// line when an outage starts and one when the heads are chosen again, not one per Solve. A request with
/// <c>require_selected_heads</c> gets the failure instead, as a status naming the service. A configuration error
/// (no selector for the served model, an encoder the selector does not take, a bad question) is never hidden by
/// the fallback: it fails the Solve as before.
/// </summary>
public sealed class HeadsFallback(GatewayOptions options, GatewayMetrics metrics, ILogger<HeadsFallback> log)
{
    string? outage;   // the first reason of the outage under way; null while the heads are chosen
    long fallbacks;   // Solves that fell back during it

    public async Task<(CandidatePlan Plan, PlanFallback? Fallback)> PlanAsync(SolveSpec spec, GatewayPlanSources sources, CancellationToken ct)
    {
        var request = spec.ToPlanRequest();
        if (!spec.Strategy.NeedsSelector()) return (await CandidatePlanner.PlanAsync(request, sources, ct).ConfigureAwait(false), null);

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(options.HeadSelectionTimeout);
        string reason;
        try
        {
            // Replacements (the plan past n, 2n by default) cannot outnumber the selector's configurations: the reserve
            // is cut to what the selector can rank (n itself is the planner's rule).
            if (request.N > spec.N && spec.Rejecting.Mode == Answers.Rejection.Replace)
                request = request with { N = Math.Max(spec.N, Math.Min(request.N, await sources.SelectorConfigurationsAsync(timer.Token).ConfigureAwait(false))) };
            var plan = await CandidatePlanner.PlanAsync(request, sources, timer.Token).ConfigureAwait(false);
            Answering();
            return (plan, null);
        }
        catch (HeadSourceFailure e) when (!ct.IsCancellationRequested && IsOutage(e.Call, timer))
        {
            if (spec.RequireSelectedHeads) throw TimedOut(timer, e.Service) ?? UpstreamFailures.ForCallers(e.Call, log, e.Service);
            reason = timer.IsCancellationRequested ? NoAnswer(e.Service) : $"{e.Service}: {Describe(e.Call)}";
            metrics.HeadsFellBack(e.Service);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && timer.IsCancellationRequested && sources.Asking is not null)
        {
            var service = sources.Asking;
            if (spec.RequireSelectedHeads) throw TimedOut(timer, service)!;
            reason = NoAnswer(service);
            metrics.HeadsFellBack(service);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && timer.IsCancellationRequested)
        {
            // Asking neither head source: the generators' ModelInfo (the model's shape, asked once) was that slow.
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"generator: the model's shape (ModelInfo) took longer than {options.HeadSelectionTimeout.TotalSeconds:0.###} s"));
        }
        Fell(reason);
        var fallback = await CandidatePlanner.PlanAsync(request with { Strategy = Core.Strategy.Sampling }, sources, ct).ConfigureAwait(false);
        return (fallback, new PlanFallback { Requested = spec.Strategy.ToProto(), Reason = reason });
    }

    string NoAnswer(string service) => $"{service}: no answer within {options.HeadSelectionTimeout.TotalSeconds:0.###} s";

    RpcException? TimedOut(CancellationTokenSource timer, string service) => timer.IsCancellationRequested
        ? new RpcException(new Status(StatusCode.DeadlineExceeded, $"{NoAnswer(service)} (require_selected_heads is set)"))
        : null;

    /// <summary>An outage, not a configuration error: the service is unreachable, loading, overloaded, slow or broke.</summary>
    static bool IsOutage(RpcException e, CancellationTokenSource timer) => timer.IsCancellationRequested || e.StatusCode is
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Internal or
        StatusCode.Unknown or StatusCode.Aborted or StatusCode.Cancelled;

    /// <summary>What the caller may read: the code, and the service's own detail only when it sent one (no internal host).</summary>
    static string Describe(RpcException e) => e.Status.DebugException is not null ? $"unreachable ({e.StatusCode})" : $"{e.StatusCode}: {Quote.Short(e.Status.Detail)}";

    void Fell(string reason)
    {
        Interlocked.Increment(ref fallbacks);
        if (Interlocked.CompareExchange(ref outage, reason, null) is null)
            log.LogWarning("choosing heads failed ({Reason}): sprint and global_top Solves are planned as sampling until the embedding service and the head selector answer again", reason);
    }

    void Answering()
    {
        if (Volatile.Read(ref outage) is null) return;
        if (Interlocked.Exchange(ref outage, null) is { } was)
            log.LogInformation("heads are chosen again after {Fallbacks} Solves fell back to sampling (the outage began with: {Reason})", Interlocked.Exchange(ref fallbacks, 0), was);
    }
}
