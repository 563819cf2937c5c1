using Microsoft.Extensions.DependencyInjection;
using System.Threading.RateLimiting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Configuration section "Service:RateLimits": per caller (the authenticated name, else the peer's IP address),
/// at most <see cref="Requests"/> calls per <see cref="Window"/> and <see cref="ConcurrentCalls"/> calls in flight
/// (streams count until they end). Health checks, Prometheus scrapes and callers whose key is <see cref="ApiKey.Unlimited"/> are
/// exempt. Beyond a limit a call gets RESOURCE_EXHAUSTED with a retry hint. Off by default.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Calls per caller per <see cref="Window"/>; 0 for no limit.</summary>
    public int Requests { get; set; }
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Calls per caller in flight at once; 0 for no limit.</summary>
    public int ConcurrentCalls { get; set; }

    public bool Enabled => Requests > 0 || ConcurrentCalls > 0;
}

static class RateLimits
{
    /// <summary>ASP.NET Core's rate limiter, partitioned per caller, as the global limiter.</summary>
    public static void Configure(RateLimiterOptions limiter, RateLimitOptions o)
    {
        var limiters = new List<PartitionedRateLimiter<HttpContext>>();
        if (o.ConcurrentCalls > 0)
            limiters.Add(PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http) is { } caller
                ? RateLimitPartition.GetConcurrencyLimiter(caller, _ => new ConcurrencyLimiterOptions { PermitLimit = o.ConcurrentCalls, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("")));
        if (o.Requests > 0)
            limiters.Add(PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http) is { } caller
                ? RateLimitPartition.GetFixedWindowLimiter(caller, _ => new FixedWindowRateLimiterOptions { PermitLimit = o.Requests, Window = o.Window, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("")));
        limiter.GlobalLimiter = limiters.Count == 1 ? limiters[0] : PartitionedRateLimiter.CreateChained([.. limiters]);
        limiter.OnRejected = (context, _) =>
        {
            var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : o.ConcurrentCalls > 0 && o.Requests == 0 ? TimeSpan.FromSeconds(1) : o.Window;
            string caller = Partition(context.HttpContext) ?? "";
            context.HttpContext.RequestServices.GetRequiredService<ServiceMetrics>().RateLimitRejections.Add(1, new KeyValuePair<string, object?>("caller_kind", caller.StartsWith("key:", StringComparison.Ordinal) ? "key" : "peer"));
            var message = $"rate limit for {Core.Quote.Short(caller)}: {Describe(o)}; retry after {wait.TotalSeconds:0.###} s";
            return new ValueTask(GrpcStatusResponse.WriteAsync(context.HttpContext, StatusCode.ResourceExhausted, message, wait));
        };
    }

    static string Describe(RateLimitOptions o) => string.Join(", ",
        new[] { o.Requests > 0 ? $"{o.Requests} calls per {o.Window.TotalSeconds:0.###} s" : null, o.ConcurrentCalls > 0 ? $"{o.ConcurrentCalls} calls at once" : null }.OfType<string>());

    /// <summary>The caller's partition, or null for calls that are not limited (health checks, unlimited keys).</summary>
    static string? Partition(HttpContext http)
    {
        if (http.Request.Path.StartsWithSegments("/grpc.health.v1.Health") || http.Request.Path.StartsWithSegments("/metrics")) return null;
        if (http.User.HasClaim(SprintClaims.Unlimited, "true")) return null;
        return SprintClaims.Caller(http.User) is { } name ? "key:" + name : "peer:" + http.Connection.RemoteIpAddress;
    }
}
