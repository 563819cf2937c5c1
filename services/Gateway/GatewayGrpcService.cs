using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;
using PlannedCandidate = Sprint.Contracts.V1.PlannedCandidate;

namespace Sprint.Gateway;

/// <summary>
/// Solve: validate (<see cref="SolveSpec"/>), plan (<see cref="CandidatePlanner"/>, the same code as sprint eval), send
/// the candidates — all at once or in adaptive waves — as one GenerateGroup call per generator replica (each carrying
/// the caller's deadline and cancellation), check each finished candidate with the Verifier while the others decode
/// (<see cref="CandidateChecks"/>), funnel every event through one channel into the response stream (the only
/// writer), then vote (<see cref="SolveVerdict"/>). A verdict comes whenever at least one candidate ran; when none
/// could, the status says why (the request's field, the deadline, capacity, or UNAVAILABLE).
/// </summary>
public sealed class GatewayGrpcService(Upstreams upstreams, GatewayOptions options, ILogger<GatewayGrpcService> log)
    : GatewayService.GatewayServiceBase
{
    static readonly Meter Meter = new("Sprint.Gateway");
    static readonly ActivitySource Traces = new("Sprint.Gateway");
    static readonly Counter<long> Solves = Meter.CreateCounter<long>("sprint.gateway.solves", "{solve}", "Solves answered with a verdict, by strategy");
    static readonly Counter<long> FailedCandidates = Meter.CreateCounter<long>("sprint.gateway.failed_candidates", "{candidate}", "Candidates that failed (their Solve may still have a verdict)");
    static readonly Counter<long> VerifierFallbacks = Meter.CreateCounter<long>("sprint.gateway.verifier_fallbacks", "{solve}", "Verified Solves that voted by plain majority because the Verifier failed or was slow");
    static readonly Counter<long> UnneededCandidates = Meter.CreateCounter<long>("sprint.gateway.unneeded_candidates", "{candidate}", "Candidates an adaptive Solve never started");
    static readonly Histogram<double> SolveDuration = Meter.CreateHistogram<double>("sprint.gateway.solve_duration", "ms", "Time from a Solve's request to its verdict, by strategy");

    public override async Task Solve(SolveRequest request, IServerStreamWriter<SolveResponse> responseStream, ServerCallContext context)
    {
        var started = Stopwatch.StartNew();
        var spec = SolveSpec.From(request, options);
        var ct = context.CancellationToken;
        var sources = new GatewayPlanSources(upstreams, context.Deadline);
        var plan = await CandidatePlanner.PlanAsync(spec.ToPlanRequest(), sources, ct).ConfigureAwait(false);
        await responseStream.WriteAsync(new SolveResponse { Plan = ToProto(plan, sources, spec) }, ct).ConfigureAwait(false);

        var events = Channel.CreateUnbounded<SolveResponse>(new UnboundedChannelOptions { SingleReader = true });
        var results = new CandidateResult[plan.Candidates.Count];
        var failures = new RpcException?[plan.Candidates.Count];   // why each candidate failed; null when it did not
        var checks = spec.Checks
            ? new CandidateChecks(upstreams.Verifier, spec.Question, options.VerifierTimeout, context.Deadline, events.Writer, ct)
            : null;
        var waves = RunWavesAsync(plan, spec, results, failures, checks, events.Writer, context);
        _ = waves.ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var e in events.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            await responseStream.WriteAsync(e, ct).ConfigureAwait(false);
        int ranCount = await waves.ConfigureAwait(false);

        var ran = results.Take(ranCount).ToList();
        var failed = ran.Where(r => r.Error.Length > 0).Select(r => r.Index).ToList();
        FailedCandidates.Add(failed.Count);
        if (failed.Count == ran.Count)
        {
            // The same bad argument fails every candidate (e.g. max_new_tokens beyond the model's context): say so, in
            // the fields of this request (the generator's field and reason travel as trailers, not inside the text).
            if (failures.All(f => f?.StatusCode == StatusCode.InvalidArgument) && ErrorInterceptor.InvalidField(failures[0]!) is { } invalid)
                throw new InvalidFieldException(invalid.Field switch
                {
                    "stopping.max_new_tokens" => "max_new_tokens",
                    "prompt" => "question",
                    var other => other,
                }, invalid.Why);
            // The caller's deadline passed while they ran or waited (the upstream calls carry it and may end first).
            if (context.Deadline <= DateTime.UtcNow || failures.All(f => f?.StatusCode == StatusCode.DeadlineExceeded))
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the call's deadline passed before any candidate finished"));
            // Generators at capacity answer RESOURCE_EXHAUSTED, and so does the gateway then: clients retry UNAVAILABLE
            // at once, which would only add load.
            if (failures.Any(f => f?.StatusCode == StatusCode.ResourceExhausted))
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the generators are at capacity, retry later: {Quote.Short(results[0].Error)}"));
            throw new RpcException(new Status(StatusCode.Unavailable, $"no candidate could run: {Quote.Short(results[0].Error)}"));
        }

        if (checks?.Failure is { } why && spec.Aggregation == Answers.Aggregation.VerifiedMajority)
        {
            log.LogWarning("the verifier could not check every candidate ({Reason}): this Solve votes by plain majority", why);
            VerifierFallbacks.Add(1);
        }
        var unneeded = Enumerable.Range(ranCount, plan.Candidates.Count - ranCount).ToList();
        UnneededCandidates.Add(unneeded.Count);
        var verdict = SolveVerdict.Vote(ran, failed, i => checks?.Of(i), spec.Aggregation, checks?.Failure, unneeded);
        await responseStream.WriteAsync(new SolveResponse { Verdict = verdict }, ct).ConfigureAwait(false);
        Solves.Add(1, new KeyValuePair<string, object?>("strategy", spec.Strategy.Name()));
        SolveDuration.Record(started.Elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("strategy", spec.Strategy.Name()));
    }

    /// <summary>
    /// Runs the plan's candidates: all at once, or (adaptive) in waves while the answer is undecided — a wave starts
    /// only when every candidate of the last one has finished and been checked, so the same seed gives the same waves.
    /// Each wave goes out as one GenerateGroup call per generator replica. Returns how many candidates were started.
    /// </summary>
    async Task<int> RunWavesAsync(CandidatePlan plan, SolveSpec spec, CandidateResult[] results, RpcException?[] failures, CandidateChecks? checks,
        ChannelWriter<SolveResponse> events, ServerCallContext context)
    {
        int n = plan.Candidates.Count, started = 0;
        int replicas = options.CandidateGroups > 0 ? options.CandidateGroups : await upstreams.GeneratorReplicasAsync(context.CancellationToken).ConfigureAwait(false);
        while (started < n)
        {
            int next = spec.Adaptive?.NextCount(started, n) ?? n;
            var wave = plan.Candidates.Skip(started).Take(next - started).ToList();
            started = next;
            // Round robin sends each call to the next replica: each replica tokenizes and prefills the prompt once for its candidates.
            int groups = Math.Clamp(replicas, 1, wave.Count);
            await Task.WhenAll(wave.GroupBy(c => c.Index % groups).Select(g => RunGroupAsync(g.ToList(), spec, results, failures, checks, events, context))).ConfigureAwait(false);
            if (checks is not null) await checks.WhenAll().ConfigureAwait(false);
            if (spec.Adaptive is not { } policy || context.CancellationToken.IsCancellationRequested) break;
            if (policy.Decided(results.Take(started).Where(r => r.Error.Length == 0)
                .Select(r => new Ballot<CandidateResult>(r, r.Answer.Length > 0 ? r.Answer : null, r.MeanLogProb, checks?.Of(r.Index))))) break;
        }
        return started;
    }

    static Plan ToProto(CandidatePlan plan, GatewayPlanSources sources, SolveSpec spec)
    {
        var message = new Plan
        {
            Strategy = plan.Strategy.ToProto(), Seed = plan.Seed, EncoderId = sources.EncoderId, EmbeddingCached = sources.EmbeddingCached,
            Aggregation = spec.Aggregation.ToProto(), Adaptive = spec.Adaptive?.ToProto(),
        };
        message.Candidates.AddRange(plan.Candidates.Select(c => new PlannedCandidate
        {
            Index = c.Index,
            Configuration = c.Config.ToProto(),
            Score = c.Score,
            Temperature = (float)c.Sampling.Temperature,
            Seed = c.Sampling.Seed ?? 0,
        }));
        return message;
    }

    /// <summary>
    /// One GenerateGroup call for <paramref name="group"/>, streaming into <paramref name="events"/>. When the replica
    /// fails (UNAVAILABLE, INTERNAL, UNKNOWN: it died, or its connection failed the keepalive pings) or sends nothing
    /// for <see cref="GatewayOptions.CandidateProgressTimeout"/>, the candidates without a result start over on the
    /// next replica, up to <see cref="GatewayOptions.CandidateRestarts"/> times: a restart event tells the client to
    /// discard their text so far (same configuration, sampling and seed). Other failures are the candidates' results.
    /// </summary>
    async Task RunGroupAsync(IReadOnlyList<Core.PlannedCandidate> group, SolveSpec spec, CandidateResult[] results, RpcException?[] failures,
        CandidateChecks? checks, ChannelWriter<SolveResponse> events, ServerCallContext context)
    {
        foreach (var candidate in group) results[candidate.Index] = new CandidateResult { Index = candidate.Index, Configuration = candidate.Config.Name };
        var pending = group.ToList();
        for (int attempt = 0; ; attempt++)
        {
            var failure = await RunOnceAsync(pending, spec, results, checks, events, context).ConfigureAwait(false);
            pending = pending.Where(c => results[c.Index].FinishReason == FinishReason.Unspecified).ToList();
            if (failure is null || pending.Count == 0) return;
            bool restartable = failure.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted;
            if (!restartable || attempt >= options.CandidateRestarts || context.CancellationToken.IsCancellationRequested)
            {
                foreach (var c in pending) Fail(c, failure);
                return;
            }
            string reason = Quote.Short($"{failure.StatusCode}: {failure.Status.Detail}");
            foreach (var c in pending)
            {
                log.LogWarning("candidate {Index} ({Config}) starts over on another replica: {Reason}", c.Index, c.Config.Name, reason);
                events.TryWrite(new SolveResponse { Restart = new CandidateRestart { Index = c.Index, Configuration = c.Config.Name, Reason = reason } });
            }
        }

        void Fail(Core.PlannedCandidate candidate, RpcException failure)
        {
            var result = results[candidate.Index];
            failures[candidate.Index] = failure;
            result.Error = $"{failure.StatusCode}: {failure.Status.Detail}";
            log.LogWarning("candidate {Index} ({Config}) failed: {Error}", candidate.Index, result.Configuration, Quote.Short(result.Error));
            events.TryWrite(new SolveResponse { Candidate = result });
        }
    }

    /// <summary>One GenerateGroup call; null when it ended normally, else why it failed (a stall reads as UNAVAILABLE).</summary>
    async Task<RpcException?> RunOnceAsync(IReadOnlyList<Core.PlannedCandidate> group, SolveSpec spec, CandidateResult[] results,
        CandidateChecks? checks, ChannelWriter<SolveResponse> events, ServerCallContext context)
    {
        var request = new GenerateGroupRequest
        {
            Prompt = spec.Question,
            Format = PromptFormat.Chat,
            Stopping = new StoppingParameters { MaxNewTokens = spec.MaxNewTokens, IgnoreEos = options.IgnoreEos },
        };
        foreach (var candidate in group)
        {
            var sampling = new SamplingParameters
            {
                Temperature = (float)candidate.Sampling.Temperature, TopK = candidate.Sampling.TopK, TopP = (float)candidate.Sampling.TopP,
            };
            if (candidate.Sampling.Seed is { } seed) sampling.Seed = seed;
            var member = new GroupCandidate { Index = candidate.Index, Sampling = sampling };
            member.PrunedHeads.AddRange(candidate.Config.PrunedHeads.Select(h => h.ToProto()));
            request.Candidates.Add(member);
        }
        // One span per GenerateGroup call, the parent of the generator's server span (W3C trace context in the headers).
        using var span = Traces.StartActivity("sprint.gateway.candidates", ActivityKind.Internal);
        span?.SetTag("sprint.candidate.indices", string.Join(",", group.Select(c => c.Index)));
        span?.SetTag("sprint.candidate.configurations", string.Join(",", group.Select(c => c.Config.Name)));
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        stall.CancelAfter(options.CandidateProgressTimeout);
        try
        {
            var ours = group.Select(c => c.Index).ToHashSet();
            using var call = upstreams.Generator.GenerateGroup(request, deadline: context.Deadline, cancellationToken: stall.Token);
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
                    events.TryWrite(new SolveResponse { Candidate = result });
                    checks?.Start(result);   // checked while the others decode
                }
            }
            span?.SetTag("sprint.candidate.tokens", string.Join(",", group.Select(c => results[c.Index].Tokens)));
            return group.Any(c => results[c.Index].FinishReason == FinishReason.Unspecified)
                ? new RpcException(new Status(StatusCode.Internal, "the generator ended the stream without a result"))
                : null;
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested)
        {
            if (stall.IsCancellationRequested)
                return new RpcException(new Status(StatusCode.Unavailable, $"the replica sent nothing for {options.CandidateProgressTimeout.TotalSeconds:0.#} s"));
            return e as RpcException ?? new RpcException(new Status(StatusCode.Unknown, Quote.Short(e.Message)));
        }
    }
}
