using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint bench fuzz</c> (seeded raw-bytes requests to every RPC, counted by status; any UNKNOWN or INTERNAL
/// fails) and <c>sprint bench soak</c> (a steady Solve load for a while, with the serving process's resident memory
/// sampled as it goes). Both against a running suite (--target, with --pid for the memory of a local one) or the
/// suite started in this process.
/// </summary>
static class RobustnessBenchmarks
{
    static Option<string?> Target() => new("--target") { Description = "Address of a running suite, e.g. http://127.0.0.1:5000 (default: start the suite in this process)" };

    static async Task<(IAsyncDisposable? Suite, string Address)> SuiteOrTarget(ParseResult parse, Option<string?> target, CancellationToken ct)
    {
        if (parse.GetValue(target) is { } address) return (null, address);
        var suite = InProcessSuite.Build(0, InProcessSuite.DefaultModel(), null, null, quiet: true, []);
        await suite.StartAsync(ct);
        await InProcessSuite.WaitReadyAsync(suite, TimeSpan.FromMinutes(5), ct);
        return (suite, suite.GrpcAddress());
    }

    public static Command Fuzz()
    {
        var target = Target();
        var perRpc = new Option<int>("--per-rpc") { Description = "Requests per RPC", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Mutation seed", DefaultValueFactory = _ => 20261129 };
        var client = new ClientChannel();
        var command = new Command("fuzz", "Seeded raw-bytes requests (mutations of valid ones) to every RPC: statuses by RPC; exit 1 on any UNKNOWN or INTERNAL")
        {
            target, perRpc, seed,
        };
        client.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var (suite, address) = await SuiteOrTarget(parse, target, ct);
            await using var _ = suite;
            using var channel = client.Create(parse, address);
            var invoker = channel.CreateCallInvoker();
            var random = new Random(parse.GetValue(seed));
            int faults = 0, longest = 0;
            var clock = Stopwatch.StartNew();
            output.WriteLine($"{"rpc",-42} {"requests",8}  statuses");
            foreach (var (method, valid) in RequestFuzzer.Rpcs)
            {
                var counts = new SortedDictionary<StatusCode, int>();
                for (int i = 0; i < parse.GetValue(perRpc); i++)
                {
                    var status = await RequestFuzzer.CallAsync(invoker, method, RequestFuzzer.Mutate(valid, random), TimeSpan.FromSeconds(30));
                    counts[status.StatusCode] = counts.GetValueOrDefault(status.StatusCode) + 1;
                    longest = Math.Max(longest, status.Detail.Length);
                    if (RequestFuzzer.IsServerFault(status) && faults++ < 10) output.WriteLine($"  fault: {method.FullName} {status.StatusCode} {Core.Quote.Short(status.Detail)}");
                }
                output.WriteLine($"{method.FullName,-42} {parse.GetValue(perRpc),8}  {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}");
            }
            output.WriteLine($"{faults} UNKNOWN or INTERNAL; longest status detail {longest} characters; {clock.Elapsed.TotalSeconds:F0} s");
            return faults == 0 ? 0 : 1;
        });
        return command;
    }

    public static Command Soak()
    {
        var target = Target();
        var pid = new Option<int?>("--pid") { Description = "Process whose resident memory is sampled (a local sprint serve); default: this process" };
        var minutes = new Option<double>("--minutes") { Description = "How long", DefaultValueFactory = _ => 30 };
        var concurrency = new Option<int>("--concurrency") { Description = "Solves in flight", DefaultValueFactory = _ => 8 };
        var every = new Option<int>("--sample-seconds") { Description = "Seconds between lines", DefaultValueFactory = _ => 60 };
        var client = new ClientChannel();
        var command = new Command("soak", "A steady Solve(n=8) load for a while: per interval the Solves done, failures by status and the resident memory (RSS)")
        {
            target, pid, minutes, concurrency, every,
        };
        client.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var (suite, address) = await SuiteOrTarget(parse, target, ct);
            await using var _ = suite;
            using var channel = client.Create(parse, address);
            var gateway = new GatewayService.GatewayServiceClient(channel);
            var questions = Problems.SyntheticProblems.Generate(seed: 7, count: 512).Select(p => p.Question).ToArray();
            int ok = 0, next = 0;
            var failures = new System.Collections.Concurrent.ConcurrentDictionary<StatusCode, int>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(TimeSpan.FromMinutes(parse.GetValue(minutes)));
            var workers = Enumerable.Range(0, parse.GetValue(concurrency)).Select(async _ =>
            {
                while (!stop.IsCancellationRequested)
                {
                    int i = Interlocked.Increment(ref next);
                    try
                    {
                        using var call = gateway.Solve(new SolveRequest { Question = questions[i % questions.Length], N = 8, Seed = (ulong)i },
                            deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: stop.Token);
                        await foreach (var e in call.ResponseStream.ReadAllAsync(stop.Token)) { }
                        Interlocked.Increment(ref ok);
                    }
                    catch (RpcException e) when (!stop.IsCancellationRequested) { failures.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1); }
                    catch (Exception) when (stop.IsCancellationRequested) { }
                }
            }).ToArray();
            var clock = Stopwatch.StartNew();
            output.WriteLine("minutes  solves OK  solves/s  failed  RSS MiB");
            int lastOk = 0;
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(parse.GetValue(every)), stop.Token); } catch (OperationCanceledException) { }
                int done = Volatile.Read(ref ok);
                output.WriteLine($"{clock.Elapsed.TotalMinutes,7:F1}  {done,9}  {(done - lastOk) / (double)parse.GetValue(every),8:F2}  " +
                    $"{failures.Values.Sum(),6}  {ResidentMiB(parse.GetValue(pid)),7:F0}");
                lastOk = done;
            }
            await Task.WhenAll(workers);
            output.WriteLine($"failures by status: {(failures.IsEmpty ? "none" : string.Join(", ", failures.Select(f => $"{f.Key} {f.Value}")))}");
            return failures.IsEmpty ? 0 : 1;
        });
        return command;
    }

    /// <summary>VmRSS of a process from /proc, in MiB.</summary>
    static double ResidentMiB(int? pid)
    {
        if (pid is null) { using var self = Process.GetCurrentProcess(); return self.WorkingSet64 / 1048576.0; }
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}
