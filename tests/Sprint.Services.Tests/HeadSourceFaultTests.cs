using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// The services that choose SPRINT's heads, as replicas in their own processes behind a gateway process: two
/// embedding replicas and two head selectors, one of which refused its artifact (it answers FAILED_PRECONDITION to
/// every call and is never SERVING), one generator. An embedding replica killed under load costs no Solve and no
/// fallback (the gateway's hedged call goes to the other replica); with every embedding replica frozen or dead, sprint
/// Solves still complete, planned as sampling with the same seed, and their plans, the metric and one log line per
/// outage say so; require_selected_heads gets the failure instead.
/// </summary>
public sealed partial class HeadSourceFaultTests : IAsyncLifetime
{
    readonly ProcessSet processes = new();
    ServiceProcess[] embeddings = [];
    ServiceProcess gateway = null!;
    readonly int metricsPort = SuiteFixture.FreePort();

    public async Task InitializeAsync()
    {
        try
        {
            var model = $"--Embedding:Model={Paths.Model}";
            embeddings =
            [
                Track(await ServiceProcess.StartService("Embedding", "Sprint.Embedding", model, "--Embedding:Threads=1", "--Embedding:LocalCacheTtl=00:00:00")),
                Track(await ServiceProcess.StartService("Embedding", "Sprint.Embedding", model, "--Embedding:Threads=1", "--Embedding:LocalCacheTtl=00:00:00")),
            ];
            var refused = Track(await ServiceProcess.StartService("HeadSelector", "Sprint.HeadSelector", waitServing: false,
                $"--Selector:Artifact={Path.Combine(Path.GetTempPath(), "no-such-selector.safetensors")}"));
            var selector = Track(await ServiceProcess.StartService("HeadSelector", "Sprint.HeadSelector"));
            var generator = Track(await ServiceProcess.StartService("Generator", "Sprint.Generator", $"--Generator:Model={Paths.Model}", "--Generator:Threads=1"));
            gateway = Track(await ServiceProcess.StartService("Gateway", "Sprint.Gateway",
                $"--Gateway:EmbeddingAddress={embeddings[0].Address}, {embeddings[1].Address}",
                $"--Gateway:SelectorAddress={refused.Address},{selector.Address}",
                $"--Gateway:GeneratorAddresses:0={generator.Address}",
                // A generous timeout (a loaded CI machine may take seconds per call), and keepalive pings rarer than it:
                // the frozen replica below is found by the timeout, not by its connection's pings.
                "--Gateway:HeadSelectionTimeout=00:00:08", "--Gateway:KeepAlive=00:00:30", "--Gateway:HedgingDelay=00:00:00.500", $"--Service:MetricsPort={metricsPort}"));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    ServiceProcess Track(ServiceProcess p) => processes.Track(p);

    /// <summary>A sprint Solve that needs no Verifier (plain majority), short candidates; distinct questions embed anew.</summary>
    static SolveRequest Request(int i, bool require = false) => new()
    {
        Question = $"Mia starts with {20 + i} apples. Mia gives 8 apples to Iris. How many apples does Mia have now?",
        N = 2, Strategy = Strategy.Sprint, MaxNewTokens = 8, Seed = 11, Aggregation = Aggregation.Majority, RequireSelectedHeads = require,
    };

    [GeneratedRegex("choosing heads failed")]
    private static partial Regex OutageStarts();

    [GeneratedRegex("heads are chosen again")]
    private static partial Regex OutageEnds();

    [Fact(Timeout = 240_000)]
    public async Task Head_sources_fail_over_to_a_replica_then_fall_back_to_sampling_once_none_answers()
    {
        using var channel = GrpcChannel.ForAddress(gateway.Address);
        var client = new GatewayService.GatewayServiceClient(channel);
        try { await Run(client); }
        catch (Exception e) { throw new Exception(string.Join("\n=====\n", processes.Select(p => p.Log[^Math.Min(p.Log.Length, 3000)..])), e); }
    }

    async Task Run(GatewayService.GatewayServiceClient client)
    {

        // 1. Under load (4 callers, 24 Solves), one embedding replica is killed after the first 6 Solves: none fails and
        // none falls back, although one selector replica refuses every call all along.
        int done = 0;
        var kill = new TaskCompletionSource();
        var plans = new System.Collections.Concurrent.ConcurrentBag<Plan>();
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            for (int i = c; i < 24; i += 4)
            {
                var events = await Rpc.Solve(client, Request(i), DateTime.UtcNow.AddSeconds(60));
                plans.Add(Rpc.AssertWellFormed(events).Plan);
                if (Interlocked.Increment(ref done) == 6) kill.SetResult();
            }
        })).ToList();
        await kill.Task.WaitAsync(TimeSpan.FromSeconds(120));
        embeddings[0].Kill();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(150));
        Assert.Equal(24, plans.Count);
        Assert.All(plans, p => Assert.True(p.Strategy == Strategy.Sprint && p.Fallback is null, $"{p.Strategy}: {p.Fallback?.Reason}"));
        Assert.Empty(OutageStarts().Matches(gateway.Log));

        // 2. The last embedding replica frozen: past HeadSelectionTimeout the Solve is planned as sampling, and says why.
        embeddings[1].Signal("STOP");
        var frozen = Rpc.AssertWellFormed(await Rpc.Solve(client, Request(100), DateTime.UtcNow.AddSeconds(60)));
        Assert.Equal(Strategy.Sampling, frozen.Plan.Strategy);
        Assert.Equal(Strategy.Sprint, frozen.Plan.Fallback.Requested);
        Assert.Equal("embedding: no answer within 8 s", frozen.Plan.Fallback.Reason);
        Assert.All(frozen.Plan.Candidates, c => Assert.Equal("none", c.Configuration.Name));
        Assert.Empty(frozen.Verdict.FailedCandidates);
        // Resumed: the heads are chosen again, and the log says so once.
        embeddings[1].Signal("CONT");
        int fellBack = 1;
        for (var until = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(200))
        {
            var plan = Rpc.AssertWellFormed(await Rpc.Solve(client, Request(101), DateTime.UtcNow.AddSeconds(60))).Plan;
            if (plan.Strategy == Strategy.Sprint && plan.Fallback is null) break;
            fellBack++;
            Assert.True(DateTime.UtcNow < until, $"the resumed replica chose no heads within 30 s: {plan.Fallback?.Reason}");
        }
        Assert.Single(OutageStarts().Matches(gateway.Log));
        Assert.Single(OutageEnds().Matches(gateway.Log));

        // 3. Every embedding replica dead: every Solve falls back; the same seed gives the same fallback plan.
        embeddings[1].Kill();
        var first = Rpc.AssertWellFormed(await Rpc.Solve(client, Request(200), DateTime.UtcNow.AddSeconds(60)));
        var again = Rpc.AssertWellFormed(await Rpc.Solve(client, Request(200), DateTime.UtcNow.AddSeconds(60)));
        Assert.Equal(Strategy.Sampling, first.Plan.Strategy);
        Assert.StartsWith("embedding: unreachable", first.Plan.Fallback.Reason);
        Assert.DoesNotContain(embeddings[1].Port.ToString(), first.Plan.Fallback.Reason);   // no internal address to callers
        Assert.Equal(first.Plan, again.Plan);
        Assert.Equal(first.Results.Select(r => r.Text), again.Results.Select(r => r.Text));
        // A caller that wants SPRINT's heads or nothing gets the failure, naming the service.
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(client, Request(201, require: true), DateTime.UtcNow.AddSeconds(60)));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.StartsWith("embedding: unreachable (trace ", e.Status.Detail);
        // Two outages, two lines (not one per Solve); the metric counts every Solve that fell back.
        Assert.Equal(2, OutageStarts().Matches(gateway.Log).Count);
        Assert.Equal(fellBack + 2, await HeadFallbacks("embedding"));
    }

    Task<int> HeadFallbacks(string service) => Scrape.Counter(metricsPort, "sprint_gateway_head_fallbacks_total", $"service=\"{service}\"");

    public Task DisposeAsync()
    {
        processes.Dispose();
        return Task.CompletedTask;
    }
}
