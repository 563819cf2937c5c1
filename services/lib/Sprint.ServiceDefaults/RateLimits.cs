using Microsoft.Extensions.DependencyInjection;
using System.Threading.RateLimiting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Sprint.ServiceDefaults;

/// <summary>How much one caller may ask: calls per window, calls in flight, and generated tokens per window.</summary>
public class CallerLimits
{
    /// <summary>Calls per caller per <see cref="Window"/>; 0 for no limit.</summary>
    public int Requests { get; set; }
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Calls per caller in flight at once; 0 for no limit.</summary>
    public int ConcurrentCalls { get; set; }
    /// <summary>
    /// Tokens a caller may ask to generate per <see cref="TokenWindow"/>, charged when a Solve is admitted (n ×
    /// max_new_tokens, whether or not it decodes them all); 0 for no budget.
    /// </summary>
    public int Tokens { get; set; }
    public TimeSpan TokenWindow { get; set; } = TimeSpan.FromMinutes(1);

    public bool Enabled => Requests > 0 || ConcurrentCalls > 0 || Tokens > 0;

    /// <summary>
    /// Anonymous callers of a service on a non-loopback address (Service:Auth:AllowAnonymous) unless
    /// Service:RateLimits:Anonymous says otherwise: 60 calls a minute, 4 at once, 16,384 tokens a minute (one
    /// default Solve is 8 × 512 = 4,096).
    /// </summary>
    public static CallerLimits AnonymousDefault => new() { Requests = 60, Window = TimeSpan.FromMinutes(1), ConcurrentCalls = 4, Tokens = 16_384 };

    public string DescribeTokens() => $"{Tokens} tokens per {TokenWindow.TotalSeconds:0.###} s";

    public string Describe() => string.Join(", ", new[]
    {
        Requests > 0 ? $"{Requests} calls per {Window.TotalSeconds:0.###} s" : null,
        ConcurrentCalls > 0 ? $"{ConcurrentCalls} calls at once" : null,
        Tokens > 0 ? DescribeTokens() : null,
    }.OfType<string>());
}

/// <summary>
/// Configuration section "Service:RateLimits": per caller — the API key's name ("key:…"), the token's subject
/// ("jwt:…"), else the peer's IP address ("peer:…") — the limits of <see cref="CallerLimits"/>. The top-level values
/// hold for callers with a credential and are off by default; <see cref="Anonymous"/> holds for callers without one,
/// and defaults to <see cref="CallerLimits.AnonymousDefault"/> when the service listens on a non-loopback address.
/// Health checks, Prometheus scrapes and callers whose key is <see cref="ApiKey.Unlimited"/> are exempt. Beyond a
/// limit a call gets RESOURCE_EXHAUSTED with a retry hint.
/// </summary>
public sealed class RateLimitOptions : CallerLimits
{
    /// <summary>Limits for callers without a credential; unset: the top-level ones on loopback, <see cref="CallerLimits.AnonymousDefault"/> elsewhere.</summary>
    public CallerLimits? Anonymous { get; set; }

    /// <summary>The limits of one partition (<see cref="RateLimits.Partition"/>).</summary>
    public CallerLimits For(string partition, bool loopback) =>
        partition.StartsWith("peer:", StringComparison.Ordinal) ? Anonymous ?? (loopback ? this : AnonymousDefault) : this;

    /// <summary>Whether any caller of a service on this address is limited at all.</summary>
    public bool AnyEnabled(bool loopback) => Enabled || (Anonymous ?? (loopback ? null : AnonymousDefault))?.Enabled == true;
}

static class RateLimits
{
    /// <summary>ASP.NET Core's rate limiter, partitioned per caller, as the global limiter: calls in flight, then calls per window.</summary>
    public static void Configure(RateLimiterOptions limiter, RateLimitOptions o, bool loopback)
    {
        limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
            PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http) is { } caller && o.For(caller, loopback) is { ConcurrentCalls: > 0 } l
                ? RateLimitPartition.GetConcurrencyLimiter(caller, _ => new ConcurrencyLimiterOptions { PermitLimit = l.ConcurrentCalls, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("")),
            PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http) is { } caller && o.For(caller, loopback) is { Requests: > 0 } l
                ? RateLimitPartition.GetFixedWindowLimiter(caller, _ => new FixedWindowRateLimiterOptions { PermitLimit = l.Requests, Window = l.Window, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("")));
        limiter.OnRejected = (context, _) =>
        {
            string caller = Partition(context.HttpContext) ?? "";
            var limits = o.For(caller, loopback);
            var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter
                : limits is { ConcurrentCalls: > 0, Requests: 0 } ? TimeSpan.FromSeconds(1) : limits.Window;
            Count(context.HttpContext, caller);
            var message = $"rate limit for {Core.Quote.Short(caller)}: {limits.Describe()}; retry after {wait.TotalSeconds:0.###} s";
            return new ValueTask(GrpcStatusResponse.WriteAsync(context.HttpContext, StatusCode.ResourceExhausted, message, wait));
        };
    }

    internal static void Count(HttpContext http, string caller) =>
        http.RequestServices.GetRequiredService<ServiceMetrics>().RateLimitRejections.Add(1,
            new KeyValuePair<string, object?>("caller_kind", caller.Split(':', 2)[0]));

    /// <summary>The caller's partition, or null for calls that are not limited (health checks, scrapes, unlimited keys).</summary>
    internal static string? Partition(HttpContext http)
    {
        var path = http.Request.Path;
        if (path.StartsWithSegments("/grpc.health.v1.Health") || path.StartsWithSegments("/metrics")
            || path.Equals(SprintServiceHost.ReadinessPath) || path.Equals(SprintServiceHost.LivenessPath)) return null;   // probes and scrapes
        if (SprintClaims.IsUnlimited(http.User)) return null;
        return SprintClaims.Caller(http.User) ?? "peer:" + http.Connection.RemoteIpAddress;
    }
}

/// <summary>
/// The per-caller token budget (<see cref="CallerLimits.Tokens"/>): a token bucket per partition, charged with what
/// a request may generate when it is admitted — after its fields are checked, before any model work. A request
/// beyond the remaining budget gets RESOURCE_EXHAUSTED saying when to retry; one larger than the whole budget says so.
/// </summary>
public sealed class TokenBudget : IDisposable
{
    readonly ServiceOptions options;
    readonly bool loopback;
    readonly PartitionedRateLimiter<string> buckets;

    public TokenBudget(ServiceOptions options)
    {
        this.options = options;
        loopback = Exposure.IsLoopback(options.Host);
        buckets = PartitionedRateLimiter.Create<string, string>(caller =>
            options.RateLimits.For(caller, loopback) is { Tokens: > 0 } l
                ? RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = l.Tokens, TokensPerPeriod = l.Tokens, ReplenishmentPeriod = l.TokenWindow, QueueLimit = 0, AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter(caller));
    }

    /// <summary>Charges <paramref name="tokens"/> to the caller of <paramref name="http"/>, or throws RESOURCE_EXHAUSTED.</summary>
    public void Charge(HttpContext http, int tokens)
    {
        if (RateLimits.Partition(http) is not { } caller) return;
        var limits = options.RateLimits.For(caller, loopback);
        if (limits.Tokens <= 0) return;
        if (tokens > limits.Tokens)
        {
            RateLimits.Count(http, caller);
            throw new RateLimitRefusal(
                $"token budget for {Core.Quote.Short(caller)}: this request may generate {tokens} tokens (n × max_new_tokens), more than the whole budget of {limits.DescribeTokens()}; ask for fewer candidates or tokens", null);
        }
        using var lease = buckets.AttemptAcquire(caller, tokens);
        if (lease.IsAcquired) return;
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : limits.TokenWindow;
        RateLimits.Count(http, caller);
        throw new RateLimitRefusal($"token budget for {Core.Quote.Short(caller)}: {limits.DescribeTokens()} spent; this request may generate {tokens} tokens; retry after {wait.TotalSeconds:0.###} s", wait);
    }

    public void Dispose() => buckets.Dispose();
}

/// <summary>
/// RESOURCE_EXHAUSTED because the caller spent its token budget (not because the service is at capacity): with the
/// wait after which the same request fits (gRPC's <c>grpc-retry-pushback-ms</c>), or none when it never will.
/// </summary>
public sealed class RateLimitRefusal(string message, TimeSpan? retryAfter) : RpcException(new Status(StatusCode.ResourceExhausted, message),
    retryAfter is { } wait ? new Metadata { { GrpcStatusResponse.PushbackHeader, GrpcStatusResponse.PushbackMs(wait) } } : [])
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
