using System.Diagnostics;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// Two Generator replicas and the Gateway as processes, the gateway with short keepalive pings: a frozen replica
/// (SIGSTOP) and a replica killed mid-stream cost no candidate — their unfinished candidates start over on the
/// other replica, with a restart event — and a replica that comes back gets traffic again within seconds.
/// </summary>
public sealed partial class ReplicaFaultTests : IAsyncLifetime
{
    readonly ProcessSet processes = new();
    ServiceProcess[] generators = [];
    ServiceProcess gateway = null!;
    readonly int gatewayMetricsPort = SuiteFixture.FreePort();

    public async Task InitializeAsync()
    {
        var model = $"--Generator:Model={Paths.Model}";
        generators =
        [
            Track(await ServiceProcess.StartService("Generator", "Sprint.Generator", model, "--Generator:Threads=1")),
            Track(await ServiceProcess.StartService("Generator", "Sprint.Generator", model, "--Generator:Threads=1")),
        ];
        gateway = Track(await ServiceProcess.StartService("Gateway", "Sprint.Gateway",
            $"--Gateway:GeneratorAddresses:0={generators[0].Address}", $"--Gateway:GeneratorAddresses:1={generators[1].Address}",
            "--Gateway:KeepAlive=00:00:01", "--Gateway:KeepAliveTimeout=00:00:01", "--Gateway:MaxReconnectBackoff=00:00:01",
            // Every candidate decodes its full max_new_tokens, so "mid-stream" below is mid-stream however fast EOS would come.
            "--Gateway:IgnoreEos=true", $"--Service:MetricsPort={gatewayMetricsPort}"));
    }

    ServiceProcess Track(ServiceProcess p) => processes.Track(p);

    static SolveRequest Request(int maxNew) => new() { Question = Rpc.Question, N = 4, Strategy = Strategy.Sampling, MaxNewTokens = maxNew, Seed = 7 };

    static int Calls(ServiceProcess generator) => GroupCall().Matches(generator.Log).Count;

    [GeneratedRegex("GeneratorService/(GenerateGroup|SteerGroup) OK")]
    private static partial Regex GroupCall();

    [Fact(Timeout = 300_000)]
    public async Task Frozen_and_killed_replicas_cost_no_candidate_and_a_resumed_one_gets_traffic_again()
    {
        using var channel = GrpcChannel.ForAddress(gateway.Address);
        var client = new GatewayService.GatewayServiceClient(channel);
        Rpc.AssertWellFormed(await Rpc.Solve(client, Request(16)));   // warm: both replicas connected

        // Frozen: the keepalive pings go unanswered, the connection is closed, its candidates start over on the other.
        generators[1].Signal("STOP");
        // Three Solves: a restart must not be sent back to the frozen replica (its kernel still accepts connections,
        // so only the ejection after its failure keeps the round robin away from it).
        var clock = Stopwatch.StartNew();
        var frozen = new List<SolveResponse>();
        for (int i = 0; i < 3; i++)
        {
            var events = await Rpc.Solve(client, Request(16), DateTime.UtcNow.AddSeconds(60));
            var (_, results, verdict) = Rpc.AssertWellFormed(events);
            Assert.All(results, r => Assert.True(r.Error == "", r.Error + " | " + string.Join(" | ", events.Where(e => e.Restart is not null).Select(e => e.Restart.Reason))));
            Assert.Empty(verdict.FailedCandidates);
            frozen.AddRange(events);
        }
        Assert.Contains(frozen, e => e.EventCase == SolveResponse.EventOneofCase.Restart);
        // Each restart event is counted (sprint_gateway_restarted_candidates_total, what an operator watches).
        Assert.Equal(frozen.Count(e => e.EventCase == SolveResponse.EventOneofCase.Restart), await RestartedCandidates());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the frozen replica held the Solves for {clock.Elapsed}");

        // Resumed: it gets GenerateGroup calls again within seconds (reconnection backoff of at most 1 s here).
        generators[1].Signal("CONT");
        int before = Calls(generators[1]);
        for (var until = DateTime.UtcNow.AddSeconds(20); Calls(generators[1]) == before && DateTime.UtcNow < until;)
            Rpc.AssertWellFormed(await Rpc.Solve(client, Request(8)));
        Assert.True(Calls(generators[1]) > before, "the resumed replica got no call within 20 s");

        // Killed mid-stream: a long Solve is under way on both replicas when one dies.
        using var call = client.Solve(Request(200), deadline: DateTime.UtcNow.AddSeconds(120));
        var streamed = new List<SolveResponse>();
        var deltasFrom = new HashSet<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            streamed.Add(call.ResponseStream.Current);
            if (call.ResponseStream.Current.Delta is { } d) deltasFrom.Add(d.Index);
            if (deltasFrom.Count == 4) break;   // every candidate is decoding
        }
        using (var replica = GrpcChannel.ForAddress(generators[1].Address))   // and the replica about to die holds some of them
            Assert.True((await new GeneratorService.GeneratorServiceClient(replica).ModelInfoAsync(new ModelInfoRequest())).ActiveSequences > 0,
                "the long Solve has no candidate on the replica to kill");
        generators[1].Kill();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) streamed.Add(call.ResponseStream.Current);
        var after = Rpc.AssertWellFormed(streamed);
        Assert.All(after.Results, r => Assert.Equal("", r.Error));
        Assert.Contains(streamed, e => e.EventCase == SolveResponse.EventOneofCase.Restart);
    }

    Task<int> RestartedCandidates() => Scrape.Counter(gatewayMetricsPort, "sprint_gateway_restarted_candidates_total");

    public Task DisposeAsync()
    {
        processes.Dispose();
        return Task.CompletedTask;
    }
}
