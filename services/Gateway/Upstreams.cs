using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>
/// The gateway's channels to the replicas of Embedding, HeadSelector, Verifier and Generator, created on first use.
/// Each service's address setting is one address, several (comma-separated for Embedding, HeadSelector and Verifier;
/// a list for the generators), or one dns:/// name that resolves to every replica (a compose service, a Kubernetes
/// headless service, re-resolved every <see cref="GatewayOptions.DnsRefreshInterval"/>). Calls are balanced
/// client-side by the same round robin for every service, which leaves out for a while a replica whose call just
/// failed at the transport (<see cref="EjectingRoundRobinFactory"/>). The idempotent unary calls (Embed, Select,
/// SelectorInfo, Check, ModelInfo) are hedged: a call that fails UNAVAILABLE (unreachable, still loading) or
/// FAILED_PRECONDITION (a replica that refused its artifact; the replica is ejected) goes to another replica, and one not answered
/// within <see cref="GatewayOptions.HedgingDelay"/> is also sent to another, the first answer winning
/// (<see cref="ReplicaCalls"/>). A GenerateGroup stream that fails UNAVAILABLE before any response is retried on
/// another replica. Every channel speaks TLS to https:// addresses (trusting Service:Tls:CaPath, presenting this
/// service's certificate), carries Service:Auth:ServiceKey, and sends HTTP/2 keepalive pings, so a replica that stops
/// answering fails its streams within <see cref="GatewayOptions.KeepAlive"/> + <see cref="GatewayOptions.KeepAliveTimeout"/>
/// instead of stalling them.
/// </summary>
public sealed class Upstreams(GatewayOptions options, IServer server, ServiceClientHandler handlers) : ICandidateUpstreams, IDisposable
{
    readonly Lock gate = new();
    GrpcChannel? embedding, selector, verifier, generators;
    Task<ModelInfoResponse>? modelInfo;
    Task<SelectorInfoResponse>? selectorInfo;
    readonly EjectingRoundRobinFactory generatorBalancer = new(options.EjectionTime);

    public EmbeddingService.EmbeddingServiceClient Embedding => new(Channel(ref embedding, () => Unary(options.EmbeddingAddress)));
    public HeadSelectorService.HeadSelectorServiceClient Selector => new(Channel(ref selector, () => Unary(options.SelectorAddress)));
    public VerifierService.VerifierServiceClient Verifier => new(Channel(ref verifier, () => Unary(options.VerifierAddress,
        ReplicaCalls.Plain(nameof(VerifierService.VerifierServiceClient.Watch), VerifierService.Descriptor.FullName))));
    public GeneratorService.GeneratorServiceClient Generator =>
        new(Channel(ref generators, () => Replicas(GeneratorAddresses(), generatorBalancer, null, ReplicaCalls.Streams, ReplicaCalls.Hedged(options.HedgingDelay, nameof(GeneratorService.GeneratorServiceClient.ModelInfo), GeneratorService.Descriptor.FullName))));

    /// <summary>The generators' model shape, asked once (again after a failure); callers wait for it with their own token.</summary>
    public Task<ModelInfoResponse> ModelInfoAsync(CancellationToken ct)
    {
        lock (gate)
        {
            if (modelInfo is null || modelInfo.IsFaulted || modelInfo.IsCanceled)
                modelInfo = Generator.ModelInfoAsync(new ModelInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync;   // shared: no one caller's token
            return modelInfo.WaitAsync(ct);
        }
    }

    /// <summary>
    /// How many generator replicas there are: the static addresses, or the replicas the balancer has ready behind a
    /// dns:/// name (grpc-dotnet's resolver re-resolves it every <see cref="GatewayOptions.DnsRefreshInterval"/>); the
    /// channel is connected first, waiting at most <see cref="GatewayOptions.KeepAliveTimeout"/> (1 when none is ready).
    /// </summary>
    public async Task<int> GeneratorReplicasAsync(CancellationToken ct)
    {
        var addresses = GeneratorAddresses();
        if (addresses is not [var single] || !Exposure.IsDnsName(single)) return addresses.Count;
        _ = Generator;   // the channel, created on first use
        var channel = generators!;
        if (generatorBalancer.ReadyReplicas == 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(options.KeepAliveTimeout);
            try { await channel.ConnectAsync(wait.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }   // none ready yet: the calls will say so
        }
        return Math.Max(1, generatorBalancer.ReadyReplicas);
    }

    /// <summary>
    /// Opens the connections to every replica of every upstream service now, in the background, so that the first
    /// Solves find each service's replicas ready in the round robin (and a hedged call's next attempt another
    /// replica) instead of connecting one at a time under them. Called once the server listens (this process may be
    /// an upstream itself).
    /// </summary>
    public void ConnectInBackground(CancellationToken stopping)
    {
        _ = (Embedding, Selector, Verifier, Generator);   // each service's channel, created on first use
        foreach (var channel in new[] { embedding, selector, verifier, generators })
            _ = Task.Run(async () =>
            {
                try { await channel!.ConnectAsync(stopping).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or InvalidOperationException) { }   // stopping, or nothing to connect yet
            }, stopping);
    }

    /// <summary>The selector's metadata, asked once (again after a failure, e.g. while it was still loading); callers wait with their own token.</summary>
    public Task<SelectorInfoResponse> SelectorInfoAsync(CancellationToken ct)
    {
        lock (gate)
        {
            if (selectorInfo is null || selectorInfo.IsFaulted || selectorInfo.IsCanceled)
                selectorInfo = Selector.SelectorInfoAsync(new SelectorInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync;   // shared: no one caller's token
            return selectorInfo.WaitAsync(ct);
        }
    }

    GrpcChannel Channel(ref GrpcChannel? field, Func<GrpcChannel> create)
    {
        lock (gate) return field ??= create();
    }

    /// <summary>A service whose calls are idempotent and unary: every call hedged (but the <paramref name="streams"/>), its own ejections.</summary>
    GrpcChannel Unary(string? addresses, params MethodConfig[] streams) =>
        Replicas(ReplicaCalls.Split(addresses), new(options.EjectionTime), options.HedgingDelay, [ReplicaCalls.Hedged(options.HedgingDelay), .. streams]);

    List<string> GeneratorAddresses()
    {
        var addresses = options.GeneratorAddresses.Where(a => !string.IsNullOrWhiteSpace(a)).Select(a => a.Trim()).ToList();
        return addresses.Count > 0 ? addresses : [Self()];
    }

    /// <summary>
    /// A channel to one service's replicas: its addresses (none: this process), balanced by <paramref name="balancer"/>,
    /// with the method configs of <see cref="ReplicaCalls"/>; <paramref name="slow"/>: a replica that has not begun to
    /// answer a cancelled attempt within it is ejected (<see cref="ReplicaStatusHandler"/>; not for streams, whose
    /// headers may wait for a batch row).
    /// </summary>
    GrpcChannel Replicas(IReadOnlyList<string> configured, EjectingRoundRobinFactory balancer, TimeSpan? slow, params MethodConfig[] methods)
    {
        var addresses = configured.Count > 0 ? configured : [Self()];
        var services = new ServiceCollection();
        services.AddSingleton<LoadBalancerFactory>(balancer);
        string target;
        if (addresses is [var single] && Exposure.IsDnsName(single))
        {
            services.AddSingleton<ResolverFactory>(new DnsResolverFactory(options.DnsRefreshInterval));
            target = single;
        }
        else
        {
            var endpoints = addresses.Select(a => new Uri(a)).Select(u => new BalancerAddress(u.Host, u.Port)).ToArray();
            services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => endpoints));
            target = "static:///replicas";
        }
        bool secure = addresses.All(a => Exposure.UsesTls(a, handlers.Tls));
        var config = new ServiceConfig { LoadBalancingConfigs = { EjectingRoundRobinFactory.Config } };
        foreach (var m in methods) config.MethodConfigs.Add(m);
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            Credentials = secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            HttpHandler = new ReplicaStatusHandler(balancer, slow) { InnerHandler = handlers.Create(options.KeepAlive, options.KeepAliveTimeout) },
            DisposeHttpClient = true,
            MaxReconnectBackoff = options.MaxReconnectBackoff,   // a restarted replica is tried again within it
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = config,
        });
    }

    /// <summary>This process's gRPC address, over loopback (a server bound to every address is reached on 127.0.0.1).</summary>
    string Self()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("no upstream address configured and the server has no address yet");
        var uri = new UriBuilder(address);
        if (!Exposure.IsLoopback(uri.Host)) uri.Host = "127.0.0.1";
        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }

    public void Dispose()
    {
        embedding?.Dispose();
        selector?.Dispose();
        verifier?.Dispose();
        generators?.Dispose();
    }
}
