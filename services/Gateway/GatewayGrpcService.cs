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
/// the candidates as one GenerateGroup call per generator replica (each carrying the caller's deadline and
/// cancellation), funnel their events through one channel into the response stream (the only writer), then vote. A verdict comes whenever at least one candidate ran; UNAVAILABLE only when none could.
/// </summary>
public sealed class GatewayGrpcService(Upstreams upstreams, GatewayOptions options, ILogger<GatewayGrpcService> log)
    : GatewayService.GatewayServiceBase
{
    static readonly Meter Meter = new("Sprint.Gateway");
    static readonly Counter<long> Solves = Meter.CreateCounter<long>("sprint.gateway.solves");
    static readonly Counter<long> FailedCandidates = Meter.CreateCounter<long>("sprint.gateway.failed_candidates");
    static readonly Histogram<double> SolveDuration = Meter.CreateHistogram<double>("sprint.gateway.solve_duration", "ms");

    public override async Task Solve(SolveRequest request, IServerStreamWriter<SolveResponse> responseStream, ServerCallContext context)
    {
        var started = Stopwatch.StartNew();
        var spec = SolveSpec.From(request, options);
        var ct = context.CancellationToken;
        var sources = new GatewayPlanSources(upstreams, context.Deadline);
        var plan = await CandidatePlanner.PlanAsync(spec.ToPlanRequest(), sources, ct).ConfigureAwait(false);
        await responseStream.WriteAsync(new SolveResponse { Plan = ToProto(plan, sources) }, ct).ConfigureAwait(false);

        var events = Channel.CreateUnbounded<SolveResponse>(new UnboundedChannelOptions { SingleReader = true });
        var results = new CandidateResult[plan.Candidates.Count];
        var failures = new RpcException?[plan.Candidates.Count];   // why each candidate failed; null when it did not
        // The candidates in one GenerateGroup call per generator replica (round robin sends each call to the next
        // replica): each replica tokenizes and prefills the prompt once for all of its candidates.
        int groups = Math.Clamp(options.CandidateGroups > 0 ? options.CandidateGroups : await upstreams.GeneratorReplicasAsync(ct).ConfigureAwait(false),
            1, plan.Candidates.Count);
        var runs = plan.Candidates.GroupBy(c => c.Index % groups)
            .Select(g => RunGroupAsync(g.ToList(), spec, results, failures, events.Writer, context)).ToArray();
        _ = Task.WhenAll(runs).ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var e in events.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            await responseStream.WriteAsync(e, ct).ConfigureAwait(false);

        var failed = results.Where(r => r.Error.Length > 0).Select(r => r.Index).ToList();
        FailedCandidates.Add(failed.Count);
        if (failed.Count == results.Length)
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
            // Generators at capacity answer RESOURCE_EXHAUSTED, and so does the gateway then: clients retry UNAVAILABLE
            // at once, which would only add load.
            if (failures.Any(f => f?.StatusCode == StatusCode.ResourceExhausted))
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the generators are at capacity, retry later: {Quote.Short(results[0].Error)}"));
            throw new RpcException(new Status(StatusCode.Unavailable, $"no candidate could run: {Quote.Short(results[0].Error)}"));
        }

        await responseStream.WriteAsync(new SolveResponse { Verdict = SolveVerdict.Vote(results, failed) }, ct).ConfigureAwait(false);
        Solves.Add(1, new KeyValuePair<string, object?>("strategy", spec.Strategy.Name()));
        SolveDuration.Record(started.Elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("strategy", spec.Strategy.Name()));
    }

    static Plan ToProto(CandidatePlan plan, GatewayPlanSources sources)
    {
        var message = new Plan { Strategy = plan.Strategy.ToProto(), Seed = plan.Seed, EncoderId = sources.EncoderId, EmbeddingCached = sources.EmbeddingCached };
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

    async Task RunGroupAsync(IReadOnlyList<Core.PlannedCandidate> group, SolveSpec spec, CandidateResult[] results, RpcException?[] failures,
        ChannelWriter<SolveResponse> events, ServerCallContext context)
    {
        var request = new GenerateGroupRequest
        {
            Prompt = spec.Question,
            Format = PromptFormat.Chat,
            Stopping = new StoppingParameters { MaxNewTokens = spec.MaxNewTokens },
        };
        foreach (var candidate in group)
        {
            var sampling = new SamplingParameters { Temperature = (float)candidate.Sampling.Temperature, TopP = (float)candidate.Sampling.TopP };
            if (candidate.Sampling.Seed is { } seed) sampling.Seed = seed;
            var member = new GroupCandidate { Index = candidate.Index, Sampling = sampling };
            member.PrunedHeads.AddRange(candidate.Config.PrunedHeads.Select(h => h.ToProto()));
            request.Candidates.Add(member);
            results[candidate.Index] = new CandidateResult { Index = candidate.Index, Configuration = candidate.Config.Name };
        }
        try
        {
            var ours = group.Select(c => c.Index).ToHashSet();
            using var call = upstreams.Generator.GenerateGroup(request, deadline: context.Deadline, cancellationToken: context.CancellationToken);
            await foreach (var message in call.ResponseStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
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
                }
            }
            foreach (var c in group.Where(c => results[c.Index].FinishReason == FinishReason.Unspecified))
                Fail(c, new RpcException(new Status(StatusCode.Internal, "the generator ended the stream without a result")));
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested)
        {
            var failure = e as RpcException ?? new RpcException(new Status(StatusCode.Unknown, e.Message));
            foreach (var c in group.Where(c => results[c.Index].FinishReason == FinishReason.Unspecified)) Fail(c, failure);
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
}
