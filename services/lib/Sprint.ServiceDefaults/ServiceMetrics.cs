using System.Diagnostics.Metrics;

namespace Sprint.ServiceDefaults;

/// <summary>
/// The instruments every service shares, created once per process through <see cref="IMeterFactory"/> (as every
/// Sprint meter is): the OpenTelemetry <c>rpc.server.duration</c> histogram (<see cref="CallLogInterceptor"/>) and the
/// rate limiter's refusals (<see cref="RateLimits"/>).
/// </summary>
public sealed class ServiceMetrics(IMeterFactory meters)
{
    public Histogram<double> RpcDuration { get; } = meters.Create(SprintServiceHost.TelemetryPrefix + "Rpc")
        .CreateHistogram<double>("rpc.server.duration", "ms", "Duration of gRPC calls served, by service, method and status");

    public Counter<long> RateLimitRejections { get; } = meters.Create(SprintServiceHost.TelemetryPrefix + "RateLimits")
        .CreateCounter<long>("sprint.rate_limit.rejections", "{call}", "Calls refused by the rate limiter, by caller kind (key or peer)");
}
