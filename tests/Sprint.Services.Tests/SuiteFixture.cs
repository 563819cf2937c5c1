using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>All four services in this process (sprint serve's host) on a free loopback port, reached over real gRPC.</summary>
public sealed class SuiteFixture : IAsyncLifetime
{
    WebApplication? app;

    public GrpcChannel Channel { get; private set; } = null!;
    /// <summary>The HTTP/1.1 port for gRPC-Web.</summary>
    public string WebAddress { get; private set; } = "";
    /// <summary>The HTTP/1.1 port serving Prometheus's /metrics.</summary>
    public string MetricsAddress { get; private set; } = "";
    public WebApplication App => app!;
    public GatewayService.GatewayServiceClient Gateway => new(Channel);
    public GeneratorService.GeneratorServiceClient Generator => new(Channel);
    public EmbeddingService.EmbeddingServiceClient Embedding => new(Channel);
    public HeadSelectorService.HeadSelectorServiceClient Selector => new(Channel);

    public async Task InitializeAsync()
    {
        int webPort = FreePort(), metricsPort = FreePort();
        app = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
            ["--Generator:Threads=1", "--Embedding:Threads=1", $"--Service:WebPort={webPort}", $"--Service:MetricsPort={metricsPort}"]);
        await app.StartAsync();
        Channel = GrpcChannel.ForAddress(app.GrpcAddress());
        WebAddress = $"http://127.0.0.1:{webPort}";
        MetricsAddress = $"http://127.0.0.1:{metricsPort}";
        await WaitServingAsync(Channel, "");
    }

    public static int FreePort() => Sprint.Tests.Shared.Tool.FreePort();

    public static async Task WaitServingAsync(GrpcChannel channel, string service)
    {
        var health = new Health.HealthClient(channel);
        var until = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest { Service = service });
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < until) { }
            if (DateTime.UtcNow > until) throw new TimeoutException($"'{service}' did not become SERVING");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (app is not null) await app.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SuiteCollection : ICollectionFixture<SuiteFixture>
{
    public const string Name = "suite";
}
