using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint bench load</c>: a closed-loop load driver for the streaming RPCs (ghz cannot be installed here). At
/// each concurrency C, C workers each issue requests back to back over a shared HTTP/2 connection pool until the
/// total is reached; it reports requests/s, latency percentiles and time to the first streamed token.
/// </summary>
static class LoadBenchmark
{
    sealed record Sample(double LatencyMs, double FirstTokenMs, bool Ok);

    public static Command Create()
    {
        var target = new Option<string?>("--target")
        {
            Description = "Address of a running suite (sprint serve), e.g. http://127.0.0.1:5000; default: start the suite in this process " +
                "and also report where the generator's decode thread spent its time",
        };
        var rpc = new Option<string>("--rpc") { Description = "solve or generate", DefaultValueFactory = _ => "solve" };
        var concurrency = new Option<string>("--concurrency") { Description = "Concurrency levels, comma-separated", DefaultValueFactory = _ => "1,8,32" };
        var requests = new Option<int>("--requests") { Description = "Requests per level (at least 2 per worker)", DefaultValueFactory = _ => 64 };
        var n = new Option<int>("--n") { Description = "Candidates per Solve", DefaultValueFactory = _ => Sprint.Core.Defaults.N };
        var strategy = new Option<string>("--strategy") { Description = "sprint, sampling, random_heads, global_top or greedy", DefaultValueFactory = _ => "sprint" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 96 };
        var client = new ClientChannel();
        var command = new Command("load", "Requests/s, p50/p99 latency and time to first token of Solve or Generate at several concurrencies")
        {
            target, rpc, concurrency, requests, n, strategy, maxNew,
        };
        client.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            await using var suite = parse.GetValue(target) is null
                ? InProcessSuite.Build(0, InProcessSuite.DefaultModel(), null, null, quiet: true, [])
                : null;
            if (suite is not null) await suite.StartAsync(ct);
            var engine = suite?.Services.GetRequiredService<Sprint.Generator.GeneratorEngine>();
            using var channel = client.Create(parse, parse.GetValue(target) ?? suite!.GrpcAddress());   // several HTTP/2 connections as needed
            bool solve = parse.GetValue(rpc) == "solve";
            var solveStrategy = Sprint.Core.StrategyNames.Parse(parse.GetValue(strategy)!, "--strategy").ToProto();
            var questions = Sprint.Problems.SyntheticProblems.Generate(seed: 99, count: 256).Select(p => p.Question).ToArray();
            Func<int, CancellationToken, Task<Sample>> call = solve
                ? (i, token) => SolveOnce(new GatewayService.GatewayServiceClient(channel), new SolveRequest
                    { Question = questions[i % questions.Length], N = parse.GetValue(n), Strategy = solveStrategy, MaxNewTokens = parse.GetValue(maxNew), Seed = (ulong)i }, token)
                : (i, token) => GenerateOnce(new GeneratorService.GeneratorServiceClient(channel), new GenerateRequest
                    { Prompt = questions[i % questions.Length], Stopping = new StoppingParameters { MaxNewTokens = parse.GetValue(maxNew) } }, token);

            if (suite is not null) await InProcessSuite.WaitReadyAsync(suite, TimeSpan.FromMinutes(5), ct);
            await call(0, ct);   // warm-up: connection, JIT, first batch
            output.WriteLine($"{(solve ? $"Solve(n={parse.GetValue(n)}, {parse.GetValue(strategy)})" : "Generate")}, max_new_tokens {parse.GetValue(maxNew)}");
            output.WriteLine("concurrency  requests  req/s    p50 ms   p99 ms   TTFT p50 ms  TTFT p99 ms  failed");
            foreach (int c in CommonOptions.ParseIntList(parse.GetValue(concurrency)!, "--concurrency"))
            {
                int total = Math.Max(parse.GetValue(requests), 2 * c), next = 0;
                var samples = new System.Collections.Concurrent.ConcurrentBag<Sample>();
                var before = engine?.Scheduler?.Stats;
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, c).Select(async _ =>
                {
                    for (int i; (i = Interlocked.Increment(ref next)) <= total;) samples.Add(await call(i, ct));
                }));
                double seconds = clock.Elapsed.TotalSeconds;
                var ok = samples.Where(s => s.Ok).ToList();
                output.WriteLine($"{c,11}  {total,8}  {ok.Count / seconds,5:F2}  {P(ok, 50, s => s.LatencyMs),8:F0}  {P(ok, 99, s => s.LatencyMs),7:F0}  " +
                    $"{P(ok, 50, s => s.FirstTokenMs),11:F0}  {P(ok, 99, s => s.FirstTokenMs),11:F0}  {samples.Count - ok.Count,6}");
                if (before is not null && engine?.Scheduler?.Stats is { } after)
                {
                    double Share(TimeSpan a, TimeSpan b) => 100 * (a - b).TotalSeconds / seconds;
                    output.WriteLine($"             decode thread: {Share(after.Decoding, before.Decoding):F0} % decoding, " +
                        $"{Share(after.Joining, before.Joining):F0} % joining (prefill into free slots), {Share(after.Leaving, before.Leaving):F0} % leaving; " +
                        $"{(after.Steps - before.Steps) / seconds:F0} steps/s");
                }
            }
            return 0;
        });
        return command;
    }

    static Task<Sample> SolveOnce(GatewayService.GatewayServiceClient client, SolveRequest request, CancellationToken ct) =>
        Measure(client.Solve(request, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: ct),
            e => e.EventCase == SolveResponse.EventOneofCase.Delta, e => e.EventCase == SolveResponse.EventOneofCase.Verdict, ct);

    static Task<Sample> GenerateOnce(GeneratorService.GeneratorServiceClient client, GenerateRequest request, CancellationToken ct) =>
        Measure(client.Generate(request, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: ct),
            e => e.EventCase == GenerateResponse.EventOneofCase.Delta, e => e.EventCase == GenerateResponse.EventOneofCase.Result, ct);

    /// <summary>Latency to the end of the stream and to its first token; a call is ok when its final event arrived.</summary>
    static async Task<Sample> Measure<T>(AsyncServerStreamingCall<T> call, Func<T, bool> isToken, Func<T, bool> isFinal, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        double first = double.NaN;
        bool ok = false;
        try
        {
            using (call)
                await foreach (var e in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (double.IsNaN(first) && isToken(e)) first = clock.Elapsed.TotalMilliseconds;
                    ok |= isFinal(e);
                }
        }
        catch (RpcException) { ok = false; }
        return new Sample(clock.Elapsed.TotalMilliseconds, first, ok);
    }

    static double P(List<Sample> samples, double percentile, Func<Sample, double> value)
    {
        var sorted = samples.Select(value).Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
