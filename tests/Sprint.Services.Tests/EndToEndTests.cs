using Grpc.Net.Client;
using Sprint.Contracts.V1;
using StackExchange.Redis;

namespace Sprint.Services.Tests;

/// <summary>redis-server, Embedding, HeadSelector, Verifier, two Generator replicas and the Gateway, each its own process.</summary>
public sealed class DistributedSuite : IAsyncLifetime
{
    readonly ProcessSet processes = new();

    public ServiceProcess Redis { get; private set; } = null!;
    public ServiceProcess Embedding { get; private set; } = null!;
    public ServiceProcess Selector { get; private set; } = null!;
    public ServiceProcess Verifier { get; private set; } = null!;
    public ServiceProcess[] Generators { get; private set; } = [];
    public ServiceProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            Redis = Track(await ServiceProcess.StartRedis());
            var model = $"--Generator:Model={Paths.Model}";
            var embedding = Embedding = Track(await ServiceProcess.StartService("Embedding", "Sprint.Embedding", $"--Embedding:Model={Paths.Model}",
                "--Embedding:Threads=1", $"--Redis:Configuration=127.0.0.1:{Redis.Port}", "--Embedding:LocalCacheTtl=00:00:00"));
            var selector = Selector = Track(await ServiceProcess.StartService("HeadSelector", "Sprint.HeadSelector"));   // the default artifact
            var verifier = Verifier = Track(await ServiceProcess.StartService("Verifier", "Sprint.Verifier"));
            Generators = [
                Track(await ServiceProcess.StartService("Generator", "Sprint.Generator", model, "--Generator:Threads=1")),
                Track(await ServiceProcess.StartService("Generator", "Sprint.Generator", model, "--Generator:Threads=1")),
            ];
            Gateway = Track(await ServiceProcess.StartService("Gateway", "Sprint.Gateway",
                $"--Gateway:EmbeddingAddress={embedding.Address}", $"--Gateway:SelectorAddress={selector.Address}", $"--Gateway:VerifierAddress={verifier.Address}",
                $"--Gateway:GeneratorAddresses:0={Generators[0].Address}", $"--Gateway:GeneratorAddresses:1={Generators[1].Address}"));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    ServiceProcess Track(ServiceProcess p) => processes.Track(p);

    public Task DisposeAsync()
    {
        processes.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class DistributedCollection : ICollectionFixture<DistributedSuite>
{
    public const string Name = "distributed";
}

[Collection(DistributedCollection.Name)]
public sealed class EndToEndTests(DistributedSuite suite)
{
    static GatewayService.GatewayServiceClient Client(GrpcChannel channel) => new(channel);

    [Fact(Timeout = 300_000)]
    public async Task Solve_across_processes_votes_caches_in_redis_and_survives_a_lost_replica()
    {
        using var channel = GrpcChannel.ForAddress(suite.Gateway.Address);
        var question = $"Noah has {Random.Shared.Next(10, 99)} stickers. Then Ava gives Noah 5 stickers. How many stickers does Noah have now?";
        var request = new SolveRequest { Question = question, N = 6, Strategy = Strategy.Sprint, MaxNewTokens = 64 };

        var (plan, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(Client(channel), request));
        Assert.False(plan.EmbeddingCached);
        Assert.All(results, r => Assert.Equal("", r.Error));
        Rpc.AssertVerdictIsMajority(results, verdict);

        // The vector is in Redis under the encoder id, and the same question is served from there (no in-process tier here).
        using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{suite.Redis.Port}");
        // (This question's own key: other tests of the collection put other questions there too, in any order.)
        var key = Sprint.Embedding.EmbeddingCache.Key("sprint:", plan.EncoderId, question);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(key), $"{key} is not in Redis");
        var again = Rpc.AssertWellFormed(await Rpc.Solve(Client(channel), request));
        Assert.True(again.Plan.EmbeddingCached);
        Assert.Equal(plan.Candidates.Select(c => c.Configuration.Name), again.Plan.Candidates.Select(c => c.Configuration.Name));

        // Round robin spread the candidates over both replicas.
        Assert.All(suite.Generators, g => Assert.Matches("sprint.v1.GeneratorService/(Generate|SteerGroup)", g.Log));

        // One replica dies; later requests still get every candidate decoded, by the other one.
        suite.Generators[1].Kill();
        for (int i = 0; i < 3; i++)
        {
            var after = Rpc.AssertWellFormed(await Rpc.Solve(Client(channel), request));
            Assert.All(after.Results, r => Assert.Equal("", r.Error));
            Assert.Empty(after.Verdict.FailedCandidates);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task One_solve_is_one_trace_across_the_processes_and_their_log_lines_carry_it()
    {
        // The W3C trace context crosses four process boundaries in the gRPC headers; each process's one log line per
        // call names the trace (what an operator greps for, or a log pipeline joins to the trace).
        using var channel = GrpcChannel.ForAddress(suite.Gateway.Address);
        var question = $"Iris has {Random.Shared.Next(10, 99)} marbles. Then Mia gives Iris 3 marbles. How many marbles does Iris have now?";
        System.Diagnostics.ActivityTraceId trace;
        using (var caller = TelemetryTests.CallerSpan())
        {
            trace = caller.TraceId;
            Rpc.AssertWellFormed(await Rpc.Solve(Client(channel), new SolveRequest { Question = question, N = 2, MaxNewTokens = 16 }));
        }
        string id = $"TraceId:{trace.ToHexString()}";
        bool Logged(ServiceProcess p, string call) => p.Log.Split('\n').Any(line => line.Contains(id) && line.Contains(call + " OK"));
        var expected = new (string What, Func<bool> Seen)[]
        {
            ("gateway Solve", () => Logged(suite.Gateway, "sprint.v1.GatewayService/Solve")),
            ("embedding Embed", () => Logged(suite.Embedding, "sprint.v1.EmbeddingService/Embed")),
            ("selector Select", () => Logged(suite.Selector, "sprint.v1.HeadSelectorService/Select")),
            ("a generator's group call", () => suite.Generators.Any(g => Logged(g, "sprint.v1.GeneratorService/GenerateGroup") || Logged(g, "sprint.v1.GeneratorService/SteerGroup"))),
        };
        for (var until = DateTime.UtcNow.AddSeconds(10); expected.Any(e => !e.Seen()) && DateTime.UtcNow < until;) await Task.Delay(100);   // logs flush asynchronously
        Assert.All(expected, e => Assert.True(e.Seen(), $"no {e.What} log line with {id}"));
    }

    [Fact(Timeout = 300_000)]
    public async Task Python_client_streams_a_solve() => Clients.AssertSummary(await Clients.Python($"127.0.0.1:{suite.Gateway.Port}", 4, "sprint"), 4);

    /// <summary>Python calls the Verifier's Check on its own process: one candidate holds, one fails at its first step.</summary>
    [Fact(Timeout = 300_000)]
    public async Task Python_client_checks_candidates_with_the_verifier()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(await Clients.PythonCheck($"127.0.0.1:{suite.Verifier.Port}"))!;
        Assert.Equal("step-checker+outcome-verifier:sprint-tiny-math", json["verifier"]!.GetValue<string>());
        var results = json["results"]!.AsArray();
        Assert.All(results, r => Assert.InRange(r!["score"]!.GetValue<double>(), 0, 1));   // the learned verifier's optional field reaches Python
        Assert.Equal(0, results[0]!["index"]?.GetValue<int>() ?? 0);   // proto3 JSON leaves out 0
        Assert.Equal(1, results[0]!["checked_steps"]!.GetValue<int>());
        Assert.Null(results[0]!["failed_steps"]);
        Assert.Equal(3, results[1]!["index"]!.GetValue<int>());
        Assert.Equal(2, results[1]!["checked_steps"]!.GetValue<int>());
        Assert.Equal(1, results[1]!["failed_steps"]!.GetValue<int>());
        Assert.Equal("21 - 8 = 14", results[1]!["first_failure"]!["text"]!.GetValue<string>());
        Assert.Equal("13", results[1]!["first_failure"]!["computed"]!.GetValue<string>());
    }

    [Fact(Timeout = 300_000)]
    public async Task Node_client_streams_a_solve() => Clients.AssertSummary(await Clients.Node($"127.0.0.1:{suite.Gateway.Port}", 3, "sampling"), 3);
}

public sealed class ServeProcessTests
{
    [Fact(Timeout = 300_000)]
    public async Task Sprint_serve_answers_and_stops_on_sigterm()
    {
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", "--Generator:Threads=1", "--Embedding:Threads=1");
        using (var channel = GrpcChannel.ForAddress(serve.Address))
        {
            var events = await Rpc.Solve(new GatewayService.GatewayServiceClient(channel), new SolveRequest { Question = Rpc.Question, N = 2, Strategy = Strategy.Sprint, MaxNewTokens = 48, Temperature = 0 });
            Assert.Equal("52", events[^1].Verdict.Answer);
        }
        Assert.True(serve.Terminate(TimeSpan.FromSeconds(20)), "sprint serve did not stop on SIGTERM");
    }

    [Fact(Timeout = 300_000)]
    public async Task On_sigterm_health_turns_not_serving_first_and_streams_in_flight_finish()
    {
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", "--Generator:Threads=1", "--Embedding:Threads=1",
            "--Service:DrainDelay=00:00:02");
        using var channel = GrpcChannel.ForAddress(serve.Address);
        var generate = new GeneratorService.GeneratorServiceClient(channel).Generate(new GenerateRequest
        {
            Prompt = Rpc.Question,
            Stopping = new StoppingParameters { MaxNewTokens = 400, IgnoreEos = true },
        });
        Assert.True(await generate.ResponseStream.MoveNext(CancellationToken.None));   // decoding

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", serve.Id.ToString()])) await kill.WaitForExitAsync();
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        var status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving;
        for (var until = DateTime.UtcNow.AddSeconds(2); status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving && DateTime.UtcNow < until;)
            status = (await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = "sprint.v1.GeneratorService" })).Status;
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing, status);

        var last = generate.ResponseStream.Current;
        while (await generate.ResponseStream.MoveNext(CancellationToken.None)) last = generate.ResponseStream.Current;
        Assert.Equal(FinishReason.Length, last.Result.FinishReason);   // the stream in flight ran to its end
        Assert.Equal(400, last.Result.TokenIds.Count);
        Assert.True(serve.Terminate(TimeSpan.FromSeconds(20)), "sprint serve did not stop after draining");
    }
}
