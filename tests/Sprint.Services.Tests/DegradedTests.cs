using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Sprint.Contracts.V1;
using Sprint.Embedding;
using Sprint.Gateway;
using Sprint.Generator;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>Single services hosted alone with settings that push them to their limits.</summary>
public sealed class DegradedTests
{
    static async Task<(WebApplication App, GrpcChannel Channel)> Start(Action<WebApplicationBuilder> add, Action<WebApplication> map, params string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--Logging:LogLevel:Default=Warning", .. args] });
        builder.AddServiceDefaults("test", 0);
        add(builder);
        var app = builder.Build();
        map(app);
        app.MapServiceDefaults();
        await app.StartAsync();
        var channel = GrpcChannel.ForAddress(app.GrpcAddress());
        await SuiteFixture.WaitServingAsync(channel, "");
        return (app, channel);
    }

    [Fact]
    public async Task With_redis_unreachable_embedding_still_answers_uncached_and_health_says_the_cache_is_down()
    {
        int deadPort = SuiteFixture.FreePort();   // nothing listens there
        var (app, channel) = await Start(b => b.AddEmbedding(), a => a.MapEmbedding(),
            $"--Embedding:Model={Paths.Model}", "--Embedding:Threads=1", $"--Redis:Configuration=127.0.0.1:{deadPort}");
        await using var _ = app;
        using var __ = channel;
        var client = new EmbeddingService.EmbeddingServiceClient(channel);
        var started = DateTime.UtcNow;
        var reply = await client.EmbedAsync(new EmbedRequest { Text = Rpc.Question }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(256, reply.Vector.Count);
        Assert.Equal(CacheOutcome.Bypassed, reply.Cache);

        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = EmbeddingHost.CacheHealthName })).Status);
    }

    [Fact]
    public async Task A_full_generator_says_resource_exhausted()
    {
        var (app, channel) = await Start(b => b.AddGenerator(), a => a.MapGenerator(),
            $"--Generator:Model={Paths.Model}", "--Generator:Threads=1", "--Generator:MaxConcurrentSequences=1", "--Generator:MaxQueuedSequences=1");
        await using var _ = app;
        using var __ = channel;
        var client = new GeneratorService.GeneratorServiceClient(channel);
        var calls = Enumerable.Range(0, 3).Select(_ =>
            Rpc.ReadAll(client.Generate(new GenerateRequest { Prompt = Rpc.Question, MaxNewTokens = 300, Temperature = 2, Seed = 5 }))).ToList();
        var outcomes = await Task.WhenAll(calls.Select(async c =>
        {
            try { await c; return StatusCode.OK; }
            catch (RpcException e) { return e.StatusCode; }
        }));
        Assert.Contains(StatusCode.ResourceExhausted, outcomes);
        Assert.Contains(StatusCode.OK, outcomes);
    }

    [Fact]
    public async Task Some_candidates_refused_still_give_a_verdict_none_running_is_unavailable()
    {
        var (generatorApp, generatorChannel) = await Start(b => b.AddGenerator(), a => a.MapGenerator(),
            $"--Generator:Model={Paths.Model}", "--Generator:Threads=1", "--Generator:MaxConcurrentSequences=1", "--Generator:MaxQueuedSequences=1");
        await using var _ = generatorApp;
        using var __ = generatorChannel;
        var (gatewayApp, gatewayChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(), $"--Gateway:GeneratorAddresses:0={generatorApp.GrpcAddress()}");
        await using var ___ = gatewayApp;
        using var ____ = gatewayChannel;
        var gateway = new GatewayService.GatewayServiceClient(gatewayChannel);

        var request = new SolveRequest { Question = Rpc.Question, N = 6, Strategy = "sampling", Temperature = 1.5f, Seed = 2, MaxNewTokens = 300 };
        var (_, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(gateway, request));
        var failed = results.Where(r => r.Error.Length > 0).ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, r => Assert.StartsWith("ResourceExhausted", r.Error));
        Assert.Equal(failed.Select(r => r.Index).Order(), verdict.FailedCandidates);
        Assert.Contains(results, r => r.Error.Length == 0);

        var (deadApp, deadChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(),
            $"--Gateway:GeneratorAddresses:0=http://127.0.0.1:{SuiteFixture.FreePort()}");
        await using var _____ = deadApp;
        using var ______ = deadChannel;
        var events = new List<SolveResponse>();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = new GatewayService.GatewayServiceClient(deadChannel).Solve(request, deadline: DateTime.UtcNow.AddSeconds(60));
            await foreach (var item in call.ResponseStream.ReadAllAsync()) events.Add(item);
        });
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(SolveResponse.EventOneofCase.Plan, events[0].EventCase);
        Assert.Equal(6, events.Count(x => x.EventCase == SolveResponse.EventOneofCase.Candidate && x.Candidate.Error.Length > 0));
    }

    [Fact]
    public async Task A_dns_generator_address_is_resolved_and_balanced()
    {
        var (generatorApp, generatorChannel) = await Start(b => b.AddGenerator(), a => a.MapGenerator(), $"--Generator:Model={Paths.Model}", "--Generator:Threads=1");
        await using var _ = generatorApp;
        using var __ = generatorChannel;
        int port = new Uri(generatorApp.GrpcAddress()).Port;
        // localhost resolves to 127.0.0.1 (listening) and possibly ::1 (not): round robin uses the reachable one.
        var (gatewayApp, gatewayChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(), $"--Gateway:GeneratorAddresses:0=dns:///localhost:{port}");
        await using var ___ = gatewayApp;
        using var ____ = gatewayChannel;
        var request = new SolveRequest { Question = Rpc.Question, N = 4, Strategy = "random_heads", Seed = 4, MaxNewTokens = 48 };
        var (_, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(new GatewayService.GatewayServiceClient(gatewayChannel), request));
        Assert.All(results, r => Assert.Equal("", r.Error));
        Rpc.AssertVerdictIsMajority(results, verdict);
    }
}
