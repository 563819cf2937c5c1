using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>The upstream calls a Solve's candidates make: the generators (balanced over replicas) and the Verifier.</summary>
public interface ICandidateUpstreams
{
    GeneratorService.GeneratorServiceClient Generator { get; }
    VerifierService.VerifierServiceClient Verifier { get; }
    /// <summary>How many generator replicas share the candidates (one GenerateGroup call each).</summary>
    Task<int> GeneratorReplicasAsync(CancellationToken ct);
}

/// <summary>What ran of a Solve's plan: every started candidate's result, their checks, those never started and those stopped at a failed step.</summary>
public sealed record SolveOutcome(IReadOnlyList<CandidateResult> Ran, IReadOnlyList<int> Unneeded, CandidateChecks? Checks, IReadOnlyCollection<int>? Stopped = null)
{
    public IReadOnlyList<int> Failed { get; } = Ran.Where(r => r.Error.Length > 0).Select(r => r.Index).ToList();

    /// <summary>The verdict under the Solve's aggregation (plain majority when the Verifier could not check); stopped candidates do not vote.</summary>
    public Verdict Vote(Answers.Aggregation aggregation)
    {
        var verdict = SolveVerdict.Vote(Ran, Failed, i => Checks?.Of(i), aggregation, Checks?.Failure, Unneeded, i => Checks?.ScoreOf(i));
        if (Stopped is not null) verdict.StoppedCandidates.AddRange(Stopped.Order());
        verdict.GeneratedTokens = Ran.Sum(r => r.Tokens);
        return verdict;
    }
}

/// <summary>
/// Runs a Solve's planned candidates and streams their events: the plan's candidates all at once, or (adaptive) in
/// waves while the answer is undecided; each wave as one GenerateGroup call per generator replica (round robin sends
/// each call to the next replica, which tokenizes and prefills the prompt once for its candidates), carrying the
/// caller's deadline and cancellation; a replica that fails or stalls has its unfinished candidates start over on
/// another (<see cref="GatewayOptions.CandidateRestarts"/>); each finished candidate goes to the Verifier while the
/// others decode (<see cref="CandidateChecks"/>). Events go to the caller's channel; when no candidate could run,
/// this throws the status that says why (the request's field, the deadline, capacity, or UNAVAILABLE).
/// </summary>
public sealed class CandidateRunner(ICandidateUpstreams upstreams, GatewayOptions options, GatewayMetrics metrics, ILogger<CandidateRunner> log)
{
    static readonly ActivitySource Traces = new("Sprint.Gateway");

    public async Task<SolveOutcome> RunAsync(CandidatePlan plan, SolveSpec spec, ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct)
    {
        var results = new CandidateResult[plan.Candidates.Count];
        var failures = new RpcException?[plan.Candidates.Count];   // why each candidate failed; null when it did not
        var checks = spec.Checks ? new CandidateChecks(upstreams.Verifier, spec.Question, spec.Scores, options.VerifierTimeout, deadline, events, ct) : null;
        if (spec.Rejecting.Active) return await RunRejectingAsync(plan, spec, results, failures, checks!, events, deadline, ct).ConfigureAwait(false);
        int started = await RunWavesAsync(plan, spec, results, failures, checks, events, deadline, ct).ConfigureAwait(false);
        var ran = results.Take(started).ToList();
        metrics.Ran(ran.Count(r => r.Error.Length > 0), plan.Candidates.Count - started);
        if (ran.All(r => r.Error.Length > 0)) throw NoneRan(ran, failures, deadline);
        return new SolveOutcome(ran, Enumerable.Range(started, plan.Candidates.Count - started).ToList(), checks);
    }

    /// <summary>
    /// The plan under a rejection policy (<see cref="RejectingRun"/>): the waves as <see cref="RunWavesAsync"/> runs them
    /// (n slots; a stopped candidate's replacement takes the plan's next index), each decided on its finished, not
    /// stopped candidates — what <see cref="RejectionReplay"/> replays offline. Candidates of the first n never started
    /// are unneeded; later ones (replacements not needed) are not listed.
    /// </summary>
    async Task<SolveOutcome> RunRejectingAsync(CandidatePlan plan, SolveSpec spec, CandidateResult[] results, RpcException?[] failures, CandidateChecks checks,
        ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct)
    {
        await using var run = new RejectingRun(upstreams, options, metrics, log, plan, spec, results, failures, checks, events, deadline, ct);
        int n = spec.N, slots = 0;
        while (slots < n && !ct.IsCancellationRequested)
        {
            int target = spec.Adaptive?.NextCount(slots, n) ?? n;
            int take = Math.Min(target - slots, plan.Candidates.Count - run.Next);   // replacements may have used the plan up
            if (take <= 0) break;
            await run.RunWaveAsync(take, run.AnyHeld).ConfigureAwait(false);
            slots = target;
            if (spec.Adaptive is not { } policy) break;
            if (policy.Decided(run.Started.Where(i => !run.Stopped.Contains(i) && results[i].Error.Length == 0)
                .Select(i => SolveVerdict.Ballot(results[i], checks.Of(i), checks.ScoreOf(i))))) break;
        }
        var ran = run.Started.Select(i => results[i]).ToList();
        var unneeded = Enumerable.Range(run.Next, Math.Max(0, n - run.Next)).ToList();
        metrics.Ran(ran.Count(r => r.Error.Length > 0), unneeded.Count);
        if (ran.All(r => r.Error.Length > 0)) throw NoneRan(ran, failures, deadline);
        return new SolveOutcome(ran, unneeded, checks, run.Stopped);
    }

    /// <summary>Why a Solve whose every candidate failed gets no verdict, as a status for the caller.</summary>
    static Exception NoneRan(IReadOnlyList<CandidateResult> results, RpcException?[] failures, DateTime deadline)
    {
        var failed = failures.Where(f => f is not null).ToList();
        // The same bad argument fails every candidate (e.g. max_new_tokens beyond the model's context): say so, in
        // the fields of this request (the generator's field and reason travel as trailers, not inside the text).
        if (failed.All(f => f?.StatusCode == StatusCode.InvalidArgument) && ErrorInterceptor.InvalidField(failed[0]!) is { } invalid)
            return new InvalidFieldException(invalid.Field switch
            {
                "stopping.max_new_tokens" => "max_new_tokens",
                var stop when stop.StartsWith("stopping.stop", StringComparison.Ordinal) => stop["stopping.".Length..],
                "prompt" => "question",
                var other => other,
            }, invalid.Why);
        // The caller's deadline passed while they ran or waited (the upstream calls carry it and may end first).
        if (deadline <= DateTime.UtcNow || failed.All(f => f?.StatusCode == StatusCode.DeadlineExceeded))
            return new RpcException(new Status(StatusCode.DeadlineExceeded, "the call's deadline passed before any candidate finished"));
        // Generators at capacity answer RESOURCE_EXHAUSTED, and so does the gateway then: clients retry UNAVAILABLE
        // at once, which would only add load.
        if (failed.Any(f => f?.StatusCode == StatusCode.ResourceExhausted))
            return new RpcException(new Status(StatusCode.ResourceExhausted, $"the generators are at capacity, retry later: {Quote.Short(results[0].Error)}"));
        return new RpcException(new Status(StatusCode.Unavailable, $"no candidate could run: {Quote.Short(results[0].Error)}"));
    }

    /// <summary>
    /// Runs the plan's candidates: all at once, or (adaptive) in waves while the answer is undecided — a wave starts
    /// only when every candidate of the last one has finished and been checked, so the same seed gives the same waves.
    /// Each wave goes out as one GenerateGroup call per generator replica. Returns how many candidates were started.
    /// </summary>
    async Task<int> RunWavesAsync(CandidatePlan plan, SolveSpec spec, CandidateResult[] results, RpcException?[] failures, CandidateChecks? checks,
        ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct)
    {
        int n = plan.Candidates.Count, started = 0;
        int replicas = options.CandidateGroups > 0 ? options.CandidateGroups : await upstreams.GeneratorReplicasAsync(ct).ConfigureAwait(false);
        while (started < n)
        {
            int next = spec.Adaptive?.NextCount(started, n) ?? n;
            var wave = plan.Candidates.Skip(started).Take(next - started).ToList();
            started = next;
            // Round robin sends each call to the next replica: each replica tokenizes and prefills the prompt once for its candidates.
            int groups = Math.Clamp(replicas, 1, wave.Count);
            await Task.WhenAll(wave.GroupBy(c => c.Index % groups).Select(g => RunGroupAsync(g.ToList(), spec, results, failures, checks, events, deadline, ct))).ConfigureAwait(false);
            if (checks is not null) await checks.WhenAll().ConfigureAwait(false);
            if (spec.Adaptive is not { } policy || ct.IsCancellationRequested) break;
            if (policy.Decided(results.Take(started).Where(r => r.Error.Length == 0)
                .Select(r => SolveVerdict.Ballot(r, checks?.Of(r.Index), checks?.ScoreOf(r.Index))))) break;
        }
        return started;
    }

    /// <summary>
    /// One GenerateGroup call for <paramref name="group"/>, streaming into <paramref name="events"/>. When the replica
    /// fails (UNAVAILABLE, INTERNAL, UNKNOWN: it died, or its connection failed the keepalive pings) or sends nothing
    /// for <see cref="GatewayOptions.CandidateProgressTimeout"/>, the candidates without a result start over on the
    /// next replica, up to <see cref="GatewayOptions.CandidateRestarts"/> times: a restart event tells the client to
    /// discard their text so far (same configuration, sampling and seed). Other failures are the candidates' results.
    /// </summary>
    async Task RunGroupAsync(IReadOnlyList<PlanEntry> group, SolveSpec spec, CandidateResult[] results, RpcException?[] failures,
        CandidateChecks? checks, ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct)
    {
        foreach (var candidate in group) results[candidate.Index] = new CandidateResult { Index = candidate.Index, Configuration = candidate.Config.Name };
        var pending = group.ToList();
        for (int attempt = 0; ; attempt++)
        {
            var failure = await RunOnceAsync(pending, spec, results, checks, events, deadline, ct).ConfigureAwait(false);
            pending = pending.Where(c => results[c.Index].FinishReason == FinishReason.Unspecified).ToList();
            if (failure is null || pending.Count == 0) return;
            if (!Restartable(failure) || attempt >= options.CandidateRestarts || ct.IsCancellationRequested)
            {
                foreach (var c in pending) Fail(c, failure);
                return;
            }
            string reason = Quote.Short($"{failure.StatusCode}: {failure.Status.Detail}");
            metrics.Restarted(pending.Count);
            foreach (var c in pending)
            {
                log.LogWarning("candidate {Index} ({Config}) starts over on another replica: {Reason}", c.Index, c.Config.Name, reason);
                events.TryWrite(new SolveResponse { Restart = new CandidateRestart { Index = c.Index, Configuration = c.Config.Name, Reason = reason } });
            }
        }

        void Fail(PlanEntry candidate, RpcException failure)
        {
            var result = results[candidate.Index];
            failures[candidate.Index] = failure;
            result.Error = $"{failure.StatusCode}: {failure.Status.Detail}";
            log.LogWarning("candidate {Index} ({Config}) failed: {Error}", candidate.Index, result.Configuration, Quote.Short(result.Error));
            events.TryWrite(new SolveResponse { Candidate = result });
        }
    }

    /// <summary>A replica that died, broke its connection or stalled: its unfinished candidates may start over elsewhere.</summary>
    internal static bool Restartable(RpcException failure) =>
        failure.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted;

    /// <summary>The generator's request for <paramref name="group"/> of a Solve's candidates (GenerateGroup, and SteerGroup's start).</summary>
    internal static GenerateGroupRequest GroupRequest(SolveSpec spec, GatewayOptions options, IEnumerable<PlanEntry> group)
    {
        var request = new GenerateGroupRequest
        {
            Prompt = spec.Question,
            Format = PromptFormat.Chat,
            Stopping = new StoppingParameters { MaxNewTokens = spec.MaxNewTokens, IgnoreEos = options.IgnoreEos },
        };
        request.Stopping.Stop.AddRange(spec.Stop ?? []);
        if (spec.SystemPrompt is not null) request.SystemPrompt = spec.SystemPrompt;   // unset: the generators' own
        request.Candidates.AddRange(group.Select(Member));
        return request;
    }

    /// <summary>One planned candidate as a group member: its index, pruned heads and sampling (seed included).</summary>
    internal static GroupCandidate Member(PlanEntry candidate)
    {
        var sampling = new SamplingParameters
        {
            Temperature = (float)candidate.Sampling.Temperature, TopK = candidate.Sampling.TopK, TopP = (float)candidate.Sampling.TopP,
        };
        if (candidate.Sampling.Seed is { } seed) sampling.Seed = seed;
        var member = new GroupCandidate { Index = candidate.Index, Sampling = sampling };
        member.PrunedHeads.AddRange(candidate.Config.PrunedHeads.Select(h => h.ToProto()));
        return member;
    }

    /// <summary>One GenerateGroup call; null when it ended normally, else why it failed (a stall reads as UNAVAILABLE).</summary>
    async Task<RpcException?> RunOnceAsync(IReadOnlyList<PlanEntry> group, SolveSpec spec, CandidateResult[] results,
        CandidateChecks? checks, ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct)
    {
        var request = GroupRequest(spec, options, group);
        // One span per GenerateGroup call, the parent of the generator's server span (W3C trace context in the headers).
        using var span = Traces.StartActivity("sprint.gateway.candidates", ActivityKind.Internal);
        span?.SetTag("sprint.candidate.indices", string.Join(",", group.Select(c => c.Index)));
        span?.SetTag("sprint.candidate.configurations", string.Join(",", group.Select(c => c.Config.Name)));
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(options.CandidateProgressTimeout);
        try
        {
            var ours = group.Select(c => c.Index).ToHashSet();
            using var call = upstreams.Generator.GenerateGroup(request, deadline: deadline, cancellationToken: stall.Token);
            await foreach (var message in call.ResponseStream.ReadAllAsync(stall.Token).ConfigureAwait(false))
            {
                stall.CancelAfter(options.CandidateProgressTimeout);   // progress: the stall clock starts again
                if (!ours.Contains(message.Index)) continue;   // not a candidate of this call
                var result = results[message.Index];
                if (message.Delta is { Text.Length: > 0 } delta)
                    events.TryWrite(new SolveResponse { Delta = new CandidateDelta { Index = message.Index, Configuration = result.Configuration, Text = delta.Text } });
                else if (message.Result is { } final)
                {
                    result.Text = final.Text;
                    result.Answer = AnswerExtractor.Extract(final.Text) ?? "";
                    result.MeanLogProb = final.MeanLogProb;
                    result.FinishReason = final.FinishReason;
                    result.Tokens = final.TokenIds.Count;
                    result.TimeToFirstTokenMs = final.TimeToFirstTokenMs;
                    result.PromptTokens = final.PromptTokens;
                    events.TryWrite(new SolveResponse { Candidate = result });
                    checks?.Start(result);   // checked while the others decode
                }
            }
            span?.SetTag("sprint.candidate.tokens", string.Join(",", group.Select(c => results[c.Index].Tokens)));
            return group.Any(c => results[c.Index].FinishReason == FinishReason.Unspecified)
                ? new RpcException(new Status(StatusCode.Internal, "the generator ended the stream without a result"))
                : null;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            if (stall.IsCancellationRequested)
                return new RpcException(new Status(StatusCode.Unavailable, $"the replica sent nothing for {options.CandidateProgressTimeout.TotalSeconds:0.#} s"));
            if (e is RpcException rpc) return UpstreamFailures.ForCallers(rpc, log, "generator");
            log.LogWarning(e, "a GenerateGroup call failed");   // the exception's text stays here; callers see its kind
            return new RpcException(new Status(StatusCode.Unknown, $"the generator call failed ({e.GetType().Name})"));
        }
    }
}
