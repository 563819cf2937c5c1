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
/// The gateway's channels to Embedding, HeadSelector, Verifier and the Generator replicas, created on first use. Generator
/// calls are balanced client-side (round robin, leaving out a replica that just failed: <see cref="EjectingRoundRobinFactory"/>)
/// over a static address list or a dns:/// name; a call that fails
/// with UNAVAILABLE before any response is retried on another replica. Every channel speaks TLS to https://
/// addresses (trusting Service:Tls:CaPath, presenting this service's certificate), carries Service:Auth:ServiceKey, and sends HTTP/2 keepalive
/// pings, so a replica that stops answering fails its streams within <see cref="GatewayOptions.KeepAlive"/> +
/// <see cref="GatewayOptions.KeepAliveTimeout"/> instead of stalling them.
/// </summary>
public sealed class Upstreams(GatewayOptions options, IServer server, ServiceClientHandler handlers) : ICandidateUpstreams, IDisposable
{
    readonly Lock gate = new();
    GrpcChannel? embedding, selector, verifier, generators;
    Task<ModelInfoResponse>? modelInfo;
    Task<SelectorInfoResponse>? selectorInfo;
    readonly EjectingRoundRobinFactory balancer = new(options.EjectionTime);

    public EmbeddingService.EmbeddingServiceClient Embedding => new(Channel(ref embedding, () => Single(options.EmbeddingAddress)));
    public HeadSelectorService.HeadSelectorServiceClient Selector => new(Channel(ref selector, () => Single(options.SelectorAddress)));
    public VerifierService.VerifierServiceClient Verifier => new(Channel(ref verifier, () => Single(options.VerifierAddress)));
    public GeneratorService.GeneratorServiceClient Generator => new(Channel(ref generators, Generators));

    /// <summary>The generators' model shape, asked once (again after a failure).</summary>
    public Task<ModelInfoResponse> ModelInfoAsync(CancellationToken ct)
    {
        lock (gate)
        {
            if (modelInfo is null || modelInfo.IsFaulted || modelInfo.IsCanceled)
                modelInfo = Generator.ModelInfoAsync(new ModelInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ResponseAsync;
            return modelInfo;
        }
    }

    /// <summary>
    /// How many generator replicas there are: the static addresses, or the replicas the balancer has ready behind a
    /// dns:/// name (grpc-dotnet's resolver re-resolves it every <see cref="GatewayOptions.DnsRefreshInterval"/>); the
    /// channel is connected first, waiting at most <see cref="GatewayOptions.KeepAliveTimeout"/> (1 when none is ready).
    /// </summary>
    public async Task<int> GeneratorReplicasAsync(CancellationToken ct)
    {
        var addresses = options.GeneratorAddresses.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        if (addresses is not [var single] || !Exposure.IsDnsName(single)) return Math.Max(1, addresses.Count);
        var channel = Channel(ref generators, Generators);
        if (balancer.ReadyReplicas == 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(options.KeepAliveTimeout);
            try { await channel.ConnectAsync(wait.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }   // none ready yet: the calls will say so
        }
        return Math.Max(1, balancer.ReadyReplicas);
    }

    /// <summary>The selector's metadata, asked once (again after a failure, e.g. while it was still loading).</summary>
    public Task<SelectorInfoResponse> SelectorInfoAsync(CancellationToken ct)
    {
        lock (gate)
        {
            if (selectorInfo is null || selectorInfo.IsFaulted || selectorInfo.IsCanceled)
                selectorInfo = Selector.SelectorInfoAsync(new SelectorInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ResponseAsync;
            return selectorInfo;
        }
    }

    GrpcChannel Channel(ref GrpcChannel? field, Func<GrpcChannel> create)
    {
        lock (gate) return field ??= create();
    }

    GrpcChannel Single(string? address) => GrpcChannel.ForAddress(string.IsNullOrWhiteSpace(address) ? Self() : address,
        new GrpcChannelOptions { HttpHandler = handlers.Create(options.KeepAlive, options.KeepAliveTimeout), DisposeHttpClient = true });

    GrpcChannel Generators()
    {
        var addresses = options.GeneratorAddresses.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        if (addresses.Count == 0) addresses.Add(Self());
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
            target = "static:///generators";
        }
        bool secure = addresses.All(a => Exposure.UsesTls(a, handlers.Tls));
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            Credentials = secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            HttpHandler = handlers.Create(options.KeepAlive, options.KeepAliveTimeout),
            DisposeHttpClient = true,
            MaxReconnectBackoff = options.MaxReconnectBackoff,   // a restarted replica is tried again within it
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig
            {
                LoadBalancingConfigs = { EjectingRoundRobinFactory.Config },
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            // Up to 5 picks (grpc-dotnet's cap): a replica that just died can take the first picks
                            // until the balancer sees its connection fail and leaves it out.
                            MaxAttempts = 5,
                            InitialBackoff = TimeSpan.FromMilliseconds(100),
                            MaxBackoff = TimeSpan.FromSeconds(1),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            },
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
