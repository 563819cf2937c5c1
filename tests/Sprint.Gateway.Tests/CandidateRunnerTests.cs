using System.Runtime.CompilerServices;
using Grpc.Core;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Gateway.Tests;

/// <summary>
/// The candidate runner without a server: generator replicas are scripted streams (what each GenerateGroup call
/// answers, in call order), the Verifier runs the real step checker in process.
/// </summary>
public sealed class CandidateRunnerTests
{
    /// <summary>A replica's answer to one GenerateGroup call: its candidates' texts, or a failure, or silence.</summary>
    delegate IAsyncEnumerable<GenerateGroupResponse> Replica(GenerateGroupRequest request, CancellationToken ct);

    static async IAsyncEnumerable<GenerateGroupResponse> Answers(GenerateGroupRequest request, Func<int, string> text, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var c in request.Candidates)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            var t = text(c.Index);
            yield return new GenerateGroupResponse { Index = c.Index, Delta = new TokenDelta { Text = t[..1] } };
            yield return new GenerateGroupResponse
            {
                Index = c.Index,
                Result = new GenerationResult { Text = t, FinishReason = FinishReason.Stop, MeanLogProb = -0.1 * c.Index, TokenIds = { 1, 2, 3 } },
            };
        }
    }

    static async IAsyncEnumerable<GenerateGroupResponse> FailsAfterFirst(GenerateGroupRequest request, StatusCode code, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        var c = request.Candidates[0];
        yield return new GenerateGroupResponse { Index = c.Index, Result = new GenerationResult { Text = Right, FinishReason = FinishReason.Stop } };
        throw new RpcException(new Status(code, "replica died"));
    }

    static async IAsyncEnumerable<GenerateGroupResponse> Silent(GenerateGroupRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Delay(Timeout.Infinite, ct);
        yield break;
    }

    const string Right = "21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}";
    const string Wrong = "21 - 8 = 14\n14 * 4 = 56\n\\boxed{56}";

    sealed class Generators(params Replica[] calls) : GeneratorService.GeneratorServiceClient
    {
        int next;
        public List<GenerateGroupRequest> Requests { get; } = [];

        public override AsyncServerStreamingCall<GenerateGroupResponse> GenerateGroup(GenerateGroupRequest request, CallOptions options)
        {
            int call = Interlocked.Increment(ref next) - 1;
            lock (Requests) Requests.Add(request);
            var reader = new Reader(calls[Math.Min(call, calls.Length - 1)](request, options.CancellationToken));
            return new AsyncServerStreamingCall<GenerateGroupResponse>(reader, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }
    }

    sealed class Reader(IAsyncEnumerable<GenerateGroupResponse> source) : IAsyncStreamReader<GenerateGroupResponse>
    {
        IAsyncEnumerator<GenerateGroupResponse>? items;
        public GenerateGroupResponse Current => items!.Current;

        public async Task<bool> MoveNext(CancellationToken ct)
        {
            items ??= source.GetAsyncEnumerator(ct);
            return await items.MoveNextAsync().AsTask().WaitAsync(ct);
        }
    }

    /// <summary>The real step checker, in process; or a Verifier that is down.</summary>
    sealed class Verifier(bool down = false) : VerifierService.VerifierServiceClient
    {
        public int Calls;

        public override AsyncUnaryCall<CheckResponse> CheckAsync(CheckRequest request, CallOptions options)
        {
            Interlocked.Increment(ref Calls);
            var response = Task.Run(() =>
            {
                if (down) throw new RpcException(new Status(StatusCode.Unavailable, "connection refused"));
                var r = new CheckResponse { Verifier = "step-checker" };
                r.Results.AddRange(request.Candidates.Select(c => StepChecker.Check(c.Text).ToProto(c.Index)));
                return r;
            });
            return new AsyncUnaryCall<CheckResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }
    }

    sealed class Upstreams(GeneratorService.GeneratorServiceClient generators, VerifierService.VerifierServiceClient verifier, int replicas) : ICandidateUpstreams
    {
        public GeneratorService.GeneratorServiceClient Generator => generators;
        public VerifierService.VerifierServiceClient Verifier => verifier;
        public Task<int> GeneratorReplicasAsync(CancellationToken ct) => Task.FromResult(replicas);
    }

    static CandidatePlan Plan(int n) => new(Core.Strategy.Sampling, 1,
        Enumerable.Range(0, n).Select(i => new PlanEntry(i, HeadConfig.Unpruned, 0, new SamplingParams { Temperature = 0.7, Seed = (ulong)i })).ToList());

    static SolveSpec Spec(int n, Sprint.Answers.Aggregation aggregation = Sprint.Answers.Aggregation.VerifiedMajority, AdaptivePolicy? adaptive = null) =>
        new(Rpc.Question, n, Core.Strategy.Sampling, 32, null, 1, aggregation, adaptive);

    static async Task<(SolveOutcome Outcome, List<SolveResponse> Events)> Run(ICandidateUpstreams upstreams, SolveSpec spec, GatewayOptions? options = null)
    {
        using var meters = new Meters();
        var runner = new CandidateRunner(upstreams, options ?? new GatewayOptions(), new GatewayMetrics(meters, NullLogger<GatewayMetrics>.Instance), NullLogger<CandidateRunner>.Instance);
        SolveOutcome? outcome = null;
        var list = new List<SolveResponse>();
        await foreach (var e in FanIn.Merge<SolveResponse>(async events => outcome = await runner.RunAsync(Plan(spec.N), spec, events, DateTime.UtcNow.AddMinutes(1), CancellationToken.None)))
            list.Add(e);
        return (outcome!, list);
    }

    sealed class Meters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);
        public void Dispose() { }
    }

    static List<T> Of<T>(List<SolveResponse> events, SolveResponse.EventOneofCase kind, Func<SolveResponse, T> pick) =>
        events.Where(e => e.EventCase == kind).Select(pick).ToList();

    [Fact(Timeout = 20_000)]
    public async Task Candidates_go_out_as_one_group_per_replica_and_each_finished_one_is_checked()
    {
        var generators = new Generators((r, ct) => Answers(r, i => i % 2 == 0 ? Right : Wrong, ct));
        var verifier = new Verifier();
        var (outcome, events) = await Run(new Upstreams(generators, verifier, replicas: 2), Spec(4));
        Assert.Equal([[0, 2], [1, 3]], generators.Requests.Select(r => r.Candidates.Select(c => c.Index).ToArray()).OrderBy(a => a[0]));
        Assert.Equal([0, 1, 2, 3], outcome.Ran.Select(r => r.Index));
        Assert.Equal(4, verifier.Calls);
        Assert.Equal([0, 1, 2, 3], Of(events, SolveResponse.EventOneofCase.Check, e => e.Check.Index).Order());
        Assert.Equal(4, Of(events, SolveResponse.EventOneofCase.Delta, e => e.Delta.Index).Count);
        var verdict = outcome.Vote(Sprint.Answers.Aggregation.VerifiedMajority);
        Assert.Equal("52", verdict.Answer);
        Assert.Equal([1, 3], verdict.ExcludedCandidates);
    }

    [Fact(Timeout = 20_000)]
    public async Task The_plain_majority_asks_the_verifier_nothing()
    {
        var verifier = new Verifier();
        var (outcome, events) = await Run(new Upstreams(new Generators((r, ct) => Answers(r, _ => Right, ct)), verifier, 1), Spec(3, Sprint.Answers.Aggregation.Majority));
        Assert.Equal(0, verifier.Calls);
        Assert.Empty(Of(events, SolveResponse.EventOneofCase.Check, e => e));
        Assert.Null(outcome.Checks);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_replica_that_dies_has_its_unfinished_candidates_start_over_on_the_next()
    {
        var generators = new Generators((r, ct) => FailsAfterFirst(r, StatusCode.Unavailable, ct), (r, ct) => Answers(r, _ => Right, ct));
        var (outcome, events) = await Run(new Upstreams(generators, new Verifier(), 1), Spec(3));
        Assert.Equal([1, 2], Of(events, SolveResponse.EventOneofCase.Restart, e => e.Restart.Index));
        Assert.Equal([1, 2], generators.Requests[1].Candidates.Select(c => c.Index));
        Assert.All(outcome.Ran, r => Assert.Equal("", r.Error));
        Assert.Empty(outcome.Failed);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_replica_that_stalls_is_given_up_after_the_progress_timeout()
    {
        var generators = new Generators((r, ct) => Silent(r, ct), (r, ct) => Answers(r, _ => Right, ct));
        var options = new GatewayOptions { CandidateProgressTimeout = TimeSpan.FromMilliseconds(200) };
        var (outcome, events) = await Run(new Upstreams(generators, new Verifier(), 1), Spec(2), options);
        Assert.Contains("sent nothing for 0.2 s", Of(events, SolveResponse.EventOneofCase.Restart, e => e.Restart.Reason)[0]);
        Assert.Equal(2, outcome.Ran.Count(r => r.Text == Right));
    }

    [Fact(Timeout = 20_000)]
    public async Task When_every_candidate_fails_the_status_names_the_requests_field_or_says_unavailable()
    {
        var none = new Generators((r, ct) => Throws(StatusCode.InvalidArgument, ct));
        var e = await Assert.ThrowsAsync<InvalidFieldException>(() => Run(new Upstreams(none, new Verifier(), 1), Spec(2)));
        Assert.Equal("max_new_tokens", e.Field);
        var down = new Generators((r, ct) => Throws(StatusCode.Unavailable, ct));
        var unavailable = await Assert.ThrowsAsync<RpcException>(() => Run(new Upstreams(down, new Verifier(), 1), Spec(2)));
        Assert.Equal(StatusCode.Unavailable, unavailable.StatusCode);
        Assert.StartsWith("no candidate could run", unavailable.Status.Detail);
        var full = new Generators((r, ct) => Throws(StatusCode.ResourceExhausted, ct));
        Assert.Equal(StatusCode.ResourceExhausted, (await Assert.ThrowsAsync<RpcException>(() => Run(new Upstreams(full, new Verifier(), 1), Spec(2)))).StatusCode);
    }

    static async IAsyncEnumerable<GenerateGroupResponse> Throws(StatusCode code, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        throw new RpcException(new Status(code, code == StatusCode.InvalidArgument ? "stopping.max_new_tokens: exceeds the context" : "replica gone"),
            code == StatusCode.InvalidArgument ? new Metadata { { ServiceDefaults.ErrorInterceptor.FieldTrailer, "stopping.max_new_tokens" }, { ServiceDefaults.ErrorInterceptor.ReasonTrailer, "exceeds the context"u8.ToArray() } } : []);
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    [Fact(Timeout = 20_000)]
    public async Task Adaptive_waves_stop_once_verified_candidates_agree()
    {
        var generators = new Generators((r, ct) => Answers(r, _ => Right, ct));
        var (outcome, _) = await Run(new Upstreams(generators, new Verifier(), 1), Spec(8, adaptive: new AdaptivePolicy(2, 2, 2)));
        Assert.Equal([0, 1], outcome.Ran.Select(r => r.Index));
        Assert.Equal([2, 3, 4, 5, 6, 7], outcome.Unneeded);
        // Disagreeing candidates: the waves go on to n.
        var split = new Generators((r, ct) => Answers(r, i => i % 2 == 0 ? Right : "21 - 8 = 13\n13 * 5 = 65\n\\boxed{65}", ct));
        var (all, _) = await Run(new Upstreams(split, new Verifier(), 1), Spec(6, adaptive: new AdaptivePolicy(2, 2, 2)));
        Assert.Equal(6, all.Ran.Count);
        Assert.Empty(all.Unneeded);
        Assert.Equal([2, 2, 2], split.Requests.Select(r => r.Candidates.Count));   // three waves
    }

    [Fact(Timeout = 20_000)]
    public async Task A_verifier_that_is_down_makes_the_vote_plain_majority_and_says_why()
    {
        var generators = new Generators((r, ct) => Answers(r, i => i < 2 ? Wrong : Right, ct));
        var (outcome, events) = await Run(new Upstreams(generators, new Verifier(down: true), 1), Spec(3));
        Assert.Empty(Of(events, SolveResponse.EventOneofCase.Check, e => e));
        Assert.StartsWith("Unavailable", outcome.Checks!.Failure);
        var verdict = outcome.Vote(Sprint.Answers.Aggregation.VerifiedMajority);
        Assert.Equal(Contracts.V1.Aggregation.Majority, verdict.Aggregation);
        Assert.Equal("56", verdict.Answer);   // the plain majority of 56, 56, 52
        Assert.Contains("the verifier failed: Unavailable: connection refused", verdict.Rule);
    }
}

static class Rpc
{
    public const string Question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?";
}
