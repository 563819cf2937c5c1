using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;
using Sprint.Embedding;
using Sprint.Gateway;
using Sprint.Generator;
using Sprint.Inference.Generation;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>Single services hosted alone with settings that push them to their limits.</summary>
public sealed class DegradedTests
{
    /// <summary>One or more services in this process on a free port, with the service defaults; returns once it is SERVING.</summary>
    /// <summary>One service host (the defaults, its registrations and routes) started on a free loopback port.</summary>
    internal static async Task<WebApplication> StartHost(Action<WebApplicationBuilder> add, Action<WebApplication> map, params string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--Logging:LogLevel:Default=Warning", .. args] });
        builder.AddServiceDefaults("test", 0);
        add(builder);
        var app = builder.Build();
        map(app);
        app.MapServiceDefaults();
        await app.StartAsync();
        return app;
    }

    /// <summary><see cref="StartHost"/>, and a plaintext channel to it once it is SERVING.</summary>
    internal static async Task<(WebApplication App, GrpcChannel Channel)> Start(Action<WebApplicationBuilder> add, Action<WebApplication> map, params string[] args)
    {
        var app = await StartHost(add, map, args);
        var channel = GrpcChannel.ForAddress(app.GrpcAddress());
        await SuiteFixture.WaitServingAsync(channel, "");
        return (app, channel);
    }

    [Fact(Timeout = 300_000)]
    public async Task Concurrent_uncached_embeds_are_encoded_in_one_batch_with_the_vectors_of_single_encodes()
    {
        var (app, channel) = await Start(b => b.AddEmbedding(), a => a.MapEmbedding(),
            $"--Embedding:Model={Paths.Model}", "--Embedding:Threads=1", "--Embedding:BatchWait=00:00:01");
        await using var _ = app;
        using var __ = channel;
        var client = new EmbeddingService.EmbeddingServiceClient(channel);
        var texts = Enumerable.Range(1, 6).Select(i => $"Ava has {i} pens. Then Noah gives Ava {i + 2} pens. How many pens does Ava have now?").ToArray();
        // Warm: the connection and the server's first call (JIT) would otherwise hold some of the six past the batch wait.
        await client.EmbedAsync(new EmbedRequest { Text = "Warm up: how many pens?" });
        var encoder = app.Services.GetRequiredService<EmbeddingEncoder>();
        int before = encoder.Batches;
        var replies = await Task.WhenAll(texts.Select(t => client.EmbedAsync(new EmbedRequest { Text = t }).ResponseAsync));

        Assert.Equal(before + 1, encoder.Batches);   // all six arrived within the second the first one waited
        var single = encoder.Value!.Encode([texts[3]])[0];
        Assert.All(single.Zip(replies[3].Vector), p => Assert.Equal(p.First, p.Second, 5));
        Assert.All(replies, r => Assert.Equal(CacheOutcome.Miss, r.Cache));
    }

    [Theory(Timeout = 300_000)]
    [InlineData("00:00:00", false)]
    [InlineData("00:00:30", true)]
    public async Task Stream_interval_coalesces_every_token_after_the_first(string interval, bool coalesced)
    {
        var (app, channel) = await Start(b => b.AddGenerator(), a => a.MapGenerator(),
            $"--Generator:Model={Paths.Model}", "--Generator:Threads=1", $"--Generator:StreamInterval={interval}");
        await using var _ = app;
        using var __ = channel;
        var events = await Rpc.ReadAll(new GeneratorService.GeneratorServiceClient(channel).Generate(
            new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 64 } }));
        var result = events[^1].Result;
        var deltas = events.SkipLast(1).Select(e => e.Delta).ToList();
        Assert.Equal(result.TokenIds, deltas.SelectMany(d => d.TokenIds));
        Assert.Equal(result.Text, string.Concat(deltas.Select(d => d.Text)));
        Assert.Single(deltas[0].TokenIds);
        // 30 s between messages: the first token, then one delta per line (a delta ends at the token that ends a line,
        // where the gateway's step check can stop a candidate), the rest when the sequence ends. 0: one per token.
        if (coalesced)
        {
            Assert.All(deltas.Skip(1).SkipLast(1), d => Assert.Contains('\n', d.Text));
            Assert.InRange(deltas.Count, 2, 2 + result.Text.Count(c => c == '\n'));
        }
        else Assert.Equal(result.TokenIds.Count, deltas.Count);
    }

    [Fact(Timeout = 300_000)]
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

    /// <summary>
    /// Upstreams that cannot be reached: the caller learns the status and what failed, never the internal address
    /// (grpc-dotnet's own detail names host and port; it goes to the log).
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task An_unreachable_upstream_fails_the_solve_without_naming_internal_addresses()
    {
        int dead = SuiteFixture.FreePort();   // nothing listens there
        var (gatewayApp, channel) = await Start(b => b.AddGateway(), a => a.MapGateway(),
            $"--Gateway:EmbeddingAddress=http://127.0.0.1:{dead}", $"--Gateway:SelectorAddress=http://127.0.0.1:{dead}",
            $"--Gateway:GeneratorAddresses:0=http://127.0.0.1:{dead}", "--Gateway:MaxReconnectBackoff=00:00:00.200");
        await using var _ = gatewayApp;
        using var __ = channel;
        var gateway = new GatewayService.GatewayServiceClient(channel);
        foreach (var (strategy, starts) in new[] { (Strategy.Sprint, "generator: unreachable (trace "), (Strategy.Sampling, "no candidate could run: Unavailable: generator: unreachable (trace ") })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(gateway, new SolveRequest { Question = Rpc.Question, N = 2, Strategy = strategy, MaxNewTokens = 8 },
                DateTime.UtcNow.AddSeconds(60)));
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.True(e.Status.Detail.StartsWith(starts, StringComparison.Ordinal), e.Status.Detail);
            Assert.DoesNotContain(dead.ToString(), e.Status.Detail);
        }
    }

    /// <summary>A generator with one batch row and one queue place.</summary>
    static Task<(WebApplication App, GrpcChannel Channel)> StartSmallGenerator() => Start(b => b.AddGenerator(), a => a.MapGenerator(),
        $"--Generator:Model={Paths.Model}", "--Generator:Threads=1", "--Generator:MaxConcurrentSequences=1", "--Generator:MaxQueuedSequences=1");

    /// <summary>Takes the generator's only row with the longest sequence the context allows (a few hundred ms); returns once it decodes.</summary>
    static async Task<(AsyncServerStreamingCall<GenerateResponse> Call, Task Done)> Block(GrpcChannel channel)
    {
        var call = new GeneratorService.GeneratorServiceClient(channel).Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 450, IgnoreEos = true } });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return (call, Task.Run(async () => { while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } }));
    }

    /// <summary>A gateway whose only generator is <see cref="StartSmallGenerator"/>.</summary>
    sealed class GatewayOverSmallGenerator : IAsyncDisposable
    {
        public WebApplication GeneratorApp { get; private init; } = null!;
        public GrpcChannel GeneratorChannel { get; private init; } = null!;
        public WebApplication GatewayApp { get; private init; } = null!;
        public GrpcChannel GatewayChannel { get; private init; } = null!;

        public static async Task<GatewayOverSmallGenerator> StartAsync()
        {
            var (generatorApp, generatorChannel) = await StartSmallGenerator();
            var (gatewayApp, gatewayChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(), $"--Gateway:GeneratorAddresses:0={generatorApp.GrpcAddress()}");
            return new GatewayOverSmallGenerator { GeneratorApp = generatorApp, GeneratorChannel = generatorChannel, GatewayApp = gatewayApp, GatewayChannel = gatewayChannel };
        }

        public async ValueTask DisposeAsync()
        {
            GatewayChannel.Dispose();
            await GatewayApp.DisposeAsync();
            GeneratorChannel.Dispose();
            await GeneratorApp.DisposeAsync();
        }
    }

    static BatchScheduler Scheduler(WebApplication app) => app.Services.GetRequiredService<GeneratorEngine>().Scheduler!;

    [Fact(Timeout = 300_000)]
    public async Task A_full_generator_says_resource_exhausted()
    {
        var (app, channel) = await StartSmallGenerator();
        await using var _ = app;
        using var __ = channel;
        var (blocker, _) = await Block(channel);
        using var ___ = blocker;
        var client = new GeneratorService.GeneratorServiceClient(channel);
        using var queued = client.Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 8 } });
        for (int i = 0; i < 100 && Scheduler(app).Stats.QueuedSequences == 0; i++) await Task.Delay(10);
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.ReadAll(client.Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 8 } })));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.True(await queued.ResponseStream.MoveNext(CancellationToken.None));   // the queued one runs once the row frees
    }

    [Fact(Timeout = 300_000)]
    public async Task A_solve_on_full_generators_says_resource_exhausted_not_unavailable()
    {
        // Clients retry UNAVAILABLE at once; overload must read as RESOURCE_EXHAUSTED so that they back off.
        await using var small = await GatewayOverSmallGenerator.StartAsync();
        var (generatorApp, generatorChannel, gatewayChannel) = (small.GeneratorApp, small.GeneratorChannel, small.GatewayChannel);
        var (blocker, _) = await Block(generatorChannel);
        using var _____ = blocker;
        using var queued = new GeneratorService.GeneratorServiceClient(generatorChannel)
            .Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 8 } });
        for (int i = 0; i < 100 && Scheduler(generatorApp).Stats.QueuedSequences == 0; i++) await Task.Delay(10);

        var request = new SolveRequest { Question = Rpc.Question, N = 2, Strategy = Strategy.Sampling, MaxNewTokens = 8 };
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(new GatewayService.GatewayServiceClient(gatewayChannel), request));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("at capacity", e.Status.Detail);

        // OpenAI's chat completions say the same as a 503 (not a 429: the caller is not over a limit), in OpenAI's shape.
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var chat = await http.PostAsync(small.GatewayApp.GrpcAddress() + "/v1/chat/completions", new StringContent(
            $$"""{"model":"sprint-tiny-math","messages":[{"role":"user","content":"{{Rpc.Question}}"}],"n":2,"strategy":"sampling","max_tokens":8}""",
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        var error = System.Text.Json.Nodes.JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(("server_error", "service_unavailable"), (error["type"]!.GetValue<string>(), error["code"]!.GetValue<string>()));
    }

    [Fact(Timeout = 300_000)]
    public async Task Candidates_of_an_expired_solve_leave_the_generator_queue()
    {
        await using var small = await GatewayOverSmallGenerator.StartAsync();
        var (generatorApp, generatorChannel, gatewayChannel) = (small.GeneratorApp, small.GeneratorChannel, small.GatewayChannel);
        var request = new SolveRequest { Question = Rpc.Question, N = 1, Strategy = Strategy.Greedy, MaxNewTokens = 32 };
        await Rpc.Solve(new GatewayService.GatewayServiceClient(gatewayChannel), request);   // warm: connections and JIT
        var (blocker, blockerDone) = await Block(generatorChannel);
        using var _____ = blocker;

        // The one candidate waits in the queue behind the blocker until the deadline expires.
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(new GatewayService.GatewayServiceClient(gatewayChannel), request, DateTime.UtcNow.AddMilliseconds(100)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        var scheduler = Scheduler(generatorApp);
        while (true)
        {
            var stats = scheduler.Stats;
            Assert.True(stats.ActiveSequences == 1, "the blocker finished before the expired candidate left the queue");
            if (stats.QueuedSequences == 0) break;
            await Task.Delay(5);
        }
        Assert.False(blockerDone.IsCompleted);
    }

    [Fact(Timeout = 300_000)]
    public async Task Some_candidates_refused_still_give_a_verdict_none_running_is_unavailable()
    {
        var (generatorApp, generatorChannel) = await StartSmallGenerator();
        await using var _ = generatorApp;
        using var __ = generatorChannel;
        // One call per candidate (Gateway:CandidateGroups=4), so the generator can take some and refuse others; in one
        // group of four they would be queued or refused together.
        var (gatewayApp, gatewayChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(), $"--Gateway:GeneratorAddresses:0={generatorApp.GrpcAddress()}",
            "--Gateway:CandidateGroups=4");
        await using var ____ = gatewayApp;
        using var _____ = gatewayChannel;
        var gateway = new GatewayService.GatewayServiceClient(gatewayChannel);
        var request = new SolveRequest { Question = Rpc.Question, N = 4, Strategy = Strategy.Sampling, Seed = 2, MaxNewTokens = 32 };
        await Rpc.Solve(gateway, request);   // warm: connections and JIT, so the four candidates arrive together
        var (blocker, _) = await Block(generatorChannel);
        using var ___ = blocker;

        // One candidate takes the queue place and runs after the blocker; the others are refused (three, unless the
        // blocker ends before they all arrive).
        var (_, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(gateway, request));
        var failed = results.Where(r => r.Error.Length > 0).ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, r => Assert.StartsWith("ResourceExhausted", r.Error));
        Assert.Equal(failed.Select(r => r.Index).Order(), verdict.FailedCandidates);
        Rpc.AssertVerdictIsMajority(results, verdict);

        var (deadApp, deadChannel) = await Start(b => b.AddGateway(), a => a.MapGateway(),
            $"--Gateway:GeneratorAddresses:0=http://127.0.0.1:{SuiteFixture.FreePort()}");
        await using var ______ = deadApp;
        using var _______ = deadChannel;
        var events = new List<SolveResponse>();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = new GatewayService.GatewayServiceClient(deadChannel).Solve(request, deadline: DateTime.UtcNow.AddSeconds(60));
            await foreach (var item in call.ResponseStream.ReadAllAsync()) events.Add(item);
        });
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(SolveResponse.EventOneofCase.Plan, events[0].EventCase);
        Assert.Equal(4, events.Count(x => x.EventCase == SolveResponse.EventOneofCase.Candidate && x.Candidate.Error.Length > 0));
    }

    [Fact(Timeout = 300_000)]
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
        var request = new SolveRequest { Question = Rpc.Question, N = 4, Strategy = Strategy.RandomHeads, Seed = 4, MaxNewTokens = 48 };
        var (_, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(new GatewayService.GatewayServiceClient(gatewayChannel), request));
        Assert.All(results, r => Assert.Equal("", r.Error));
        Rpc.AssertVerdictIsMajority(results, verdict);
    }
}
