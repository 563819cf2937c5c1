using System.Collections.Concurrent;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;

namespace Sprint.Gateway;

/// <summary>
/// Round robin over one service's replicas that leaves out, for a while, a replica whose last call failed at the
/// transport or that said it cannot serve (<see cref="ReplicaStatusHandler"/>): gRPC's outlier ejection, in its simplest form. Needed because a frozen process still completes TCP
/// handshakes in its kernel: its subchannel looks ready and plain round robin would send the restarted candidates
/// straight back to it. A replica is ejected for <see cref="GatewayOptions.EjectionTime"/> after such a failure;
/// when every ready replica is ejected, all of them are used again.
/// </summary>
public sealed class EjectingRoundRobinFactory(TimeSpan ejection) : LoadBalancerFactory
{
    public const string PolicyName = "sprint_ejecting_round_robin";
    readonly ConcurrentDictionary<string, long> ejectedUntil = new();   // replica address → Environment.TickCount64
    readonly long ejectionMs = (long)ejection.TotalMilliseconds;

    public override string Name => PolicyName;

    /// <summary>Replicas the balancer has ready now (what the resolver found and could be connected); 0 before the first connection.</summary>
    public int ReadyReplicas => readyReplicas;
    volatile int readyReplicas;

    public override LoadBalancer Create(LoadBalancerOptions options) => new Balancer(options, this);

    /// <summary>Leaves the replica at <paramref name="address"/> ("host:port") out for the ejection time.</summary>
    public void Eject(string address) => ejectedUntil[address] = Environment.TickCount64 + ejectionMs;

    /// <summary>The service config entry that selects this policy.</summary>
    public static LoadBalancingConfig Config => new(PolicyName);

    sealed class Balancer(LoadBalancerOptions options, EjectingRoundRobinFactory factory)
        : SubchannelsLoadBalancer(options.Controller, options.LoggerFactory)
    {
        protected override SubchannelPicker CreatePicker(IReadOnlyList<Subchannel> readySubchannels)
        {
            factory.readyReplicas = readySubchannels.Count;
            return new Picker(readySubchannels, factory);
        }
    }

    sealed class Picker(IReadOnlyList<Subchannel> ready, EjectingRoundRobinFactory factory) : SubchannelPicker
    {
        int next = Random.Shared.Next();

        public override PickResult Pick(PickContext context)
        {
            long now = Environment.TickCount64;
            var healthy = ready.Where(s => !(s.CurrentAddress is { } a && factory.ejectedUntil.TryGetValue(a.ToString(), out var until) && until > now)).ToList();
            var candidates = healthy.Count > 0 ? healthy : ready;
            var chosen = candidates[(int)((uint)Interlocked.Increment(ref next) % (uint)candidates.Count)];
            return PickResult.ForSubchannel(chosen, new Tracker(factory));
        }
    }

    sealed class Tracker(EjectingRoundRobinFactory factory) : ISubchannelCallTracker
    {
        public void Start() { }

        public void Complete(CompletionContext context)
        {
            // A transport failure (connection refused or reset, keepalive ping unanswered). grpc-dotnet gives the
            // tracker no status: a replica that answers UNAVAILABLE or FAILED_PRECONDITION is ejected by ReplicaStatusHandler.
            if (context.Error is HttpRequestException or IOException && context.Address is { } address)
                factory.ejectedUntil[address.ToString()] = Environment.TickCount64 + factory.ejectionMs;
        }
    }
}

/// <summary>
/// Reads each attempt's answer on its way back from the replica the balancer picked (this handler sits below
/// grpc-dotnet's balancer, so the request names the replica's address): a replica that answers UNAVAILABLE (still
/// loading, shutting down) or FAILED_PRECONDITION (it refused its artifact) in a trailers-only response is left out
/// of the round robin like one whose connection failed, so a hedged call's next attempt goes elsewhere. With
/// <paramref name="slow"/> set (the hedged unary services), so is a replica that had not even begun to answer an
/// attempt that long when the attempt was cancelled — another replica's answer won the hedge, or the caller gave up:
/// a frozen process, which its kernel keeps accepting connections for, is then left out at once instead of after the
/// keepalive (<see cref="GatewayOptions.KeepAlive"/> + <see cref="GatewayOptions.KeepAliveTimeout"/>).
/// </summary>
public sealed class ReplicaStatusHandler(EjectingRoundRobinFactory balancer, TimeSpan? slow = null) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        long started = Environment.TickCount64;
        HttpResponseMessage response;
        try { response = await base.SendAsync(request, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) when (slow is { } limit && Environment.TickCount64 - started >= (long)limit.TotalMilliseconds && request.RequestUri is { } late)
        {
            balancer.Eject(late.Authority);
            throw;
        }
        if (response.Headers.TryGetValues("grpc-status", out var status) && status.FirstOrDefault() is "14" or "9" && request.RequestUri is { } uri)
            balancer.Eject(uri.Authority);
        return response;
    }
}
