using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.Inference.Generation;
using Sprint.Inference.Text;
using Sprint.ServiceDefaults;
using FinishReason = Sprint.Contracts.V1.FinishReason;

namespace Sprint.Generator;

/// <summary>
/// What the generator's RPCs stream, over the replica's batch scheduler: a wire request becomes engine requests (the
/// prompt templated and tokenized once, every rule checked by the type that owns it), they are submitted (all of a
/// group or none), and each sequence's events become coalesced deltas and a result; a group's candidates are merged
/// into one stream (<see cref="FanIn"/>).
/// </summary>
public sealed class GenerationStreams(GeneratorEngine engine)
{
    /// <param name="admit">Told the tokens the request may generate once it is valid and before it is submitted (the caller's token budget); may refuse by throwing.</param>
    public async IAsyncEnumerable<GenerateResponse> Generate(GenerateRequest request, [EnumeratorCancellation] CancellationToken ct, Action<int>? admit = null)
    {
        var received = Stopwatch.StartNew();
        var scheduler = engine.Require();
        var generation = ToEngineRequest(request.Prompt, request.Format, request.HasSystemPrompt ? request.SystemPrompt : null, request.PrunedHeads, request.Sampling, request.Stopping, scheduler);
        admit?.Invoke(generation.Stopping.MaxNewTokens);
        IAsyncEnumerable<GenerationEvent> events;
        try { events = scheduler.Submit(generation, ct); }
        catch (EngineOverloadedException e) { throw Refusals.AtCapacity(e.Message); }
        await foreach (var message in FanIn.Merge<GenerateResponse>(outbox => StreamAsync(events, generation, null, received,
            delta => outbox.WriteAsync(new GenerateResponse { Delta = delta }).AsTask(),
            result => outbox.WriteAsync(new GenerateResponse { Result = result }).AsTask()), ct).ConfigureAwait(false))
            yield return message;
    }

    /// <param name="admit">As for <see cref="Generate"/>: candidates × max_new_tokens.</param>
    public async IAsyncEnumerable<GenerateGroupResponse> GenerateGroup(GenerateGroupRequest request, [EnumeratorCancellation] CancellationToken ct, Action<int>? admit = null)
    {
        var received = Stopwatch.StartNew();
        var scheduler = engine.Require();
        var (shared, generations) = Group(request, scheduler);
        admit?.Invoke(generations.Count * shared.Stopping.MaxNewTokens);
        IReadOnlyList<IAsyncEnumerable<GenerationEvent>> streams;
        try { streams = scheduler.SubmitGroup(generations, ct); }
        catch (EngineOverloadedException e) { throw Refusals.AtCapacity(e.Message); }

        // One reader per candidate, one stream for the call.
        var merged = FanIn.Merge<GenerateGroupResponse>(outbox => Task.WhenAll(streams.Select((events, i) =>
        {
            int index = request.Candidates[i].Index;
            return StreamAsync(events, generations[i], index, received,
                delta => outbox.WriteAsync(new GenerateGroupResponse { Index = index, Delta = delta }).AsTask(),
                result => outbox.WriteAsync(new GenerateGroupResponse { Index = index, Result = result }).AsTask());
        })), ct);
        await foreach (var message in merged.ConfigureAwait(false)) yield return message;
    }

    /// <summary>
    /// GenerateGroup steered while it runs: the first message starts the group; <c>stop</c> ends one candidate (its
    /// row leaves the batch before the next step and its result says cancelled); <c>add</c> submits one more with the
    /// group's prompt, tokenized once (its prompt pass runs when it joins the batch, shared with whatever joins with
    /// it). The stream ends once the caller has closed its side and every candidate has its result.
    /// </summary>
    /// <param name="admit">As for <see cref="Generate"/>: the group's candidates × max_new_tokens, then max_new_tokens per added one.</param>
    public async IAsyncEnumerable<SteerGroupResponse> SteerGroup(IAsyncStreamReader<SteerGroupRequest> requests, [EnumeratorCancellation] CancellationToken ct, Action<int>? admit = null)
    {
        var received = Stopwatch.StartNew();
        var scheduler = engine.Require();
        if (!await requests.MoveNext(ct).ConfigureAwait(false)) throw new InvalidFieldException("start", "the stream ended before the group started");
        if (requests.Current.Start is not { } start) throw new InvalidFieldException("start", "the first message must start the group");
        var (shared, generations) = Group(start, scheduler);
        admit?.Invoke(generations.Count * shared.Stopping.MaxNewTokens);
        using var group = CancellationTokenSource.CreateLinkedTokenSource(ct);   // every candidate ends with the call
        var stops = new Dictionary<int, CancellationTokenSource>();
        var readers = new List<Task>();

        void Launch(ChannelWriter<SteerGroupResponse> outbox, IReadOnlyList<(int Index, GenerationRequest Generation)> members)
        {
            var sources = members.Select(_ => new CancellationTokenSource()).ToList();
            IReadOnlyList<IAsyncEnumerable<GenerationEvent>> streams;
            try { streams = scheduler.SubmitGroup(members.Select(m => m.Generation).ToList(), group.Token, sources.Select(s => s.Token).ToList()); }
            catch (EngineOverloadedException e) { throw Refusals.AtCapacity(e.Message); }
            for (int i = 0; i < members.Count; i++)
            {
                var (index, generation) = members[i];
                stops[index] = sources[i];
                readers.Add(StreamAsync(streams[i], generation, index, received,
                    delta => outbox.WriteAsync(new SteerGroupResponse { Event = new GenerateGroupResponse { Index = index, Delta = delta } }).AsTask(),
                    result => outbox.WriteAsync(new SteerGroupResponse { Event = new GenerateGroupResponse { Index = index, Result = result } }).AsTask()));
            }
        }

        async Task Run(ChannelWriter<SteerGroupResponse> outbox)
        {
            Launch(outbox, start.Candidates.Select((c, i) => (c.Index, generations[i])).ToList());
            try
            {
                for (int m = 1; await requests.MoveNext(group.Token).ConfigureAwait(false); m++)
                {
                    var message = requests.Current;
                    switch (message.EventCase)
                    {
                        case SteerGroupRequest.EventOneofCase.Stop:
                            if (stops.TryGetValue(message.Stop.Index, out var stop)) stop.Cancel();   // one already ended: nothing happens
                            break;
                        case SteerGroupRequest.EventOneofCase.Add:
                            var c = message.Add;
                            if (stops.ContainsKey(c.Index)) throw new InvalidFieldException("add.index", $"{c.Index} is already in the group");
                            if (stops.Count >= MaxGroupCandidates) throw new InvalidFieldException("add", $"a group holds at most {MaxGroupCandidates} candidates in all");
                            var generation = shared with { PrunedHeads = c.PrunedHeads.Select(h => h.ToCore()).ToList(), Sampling = ToSampling(c.Sampling) };
                            try { scheduler.Validate(generation); }
                            catch (InvalidFieldException e) { throw e.Within("add"); }
                            admit?.Invoke(shared.Stopping.MaxNewTokens);
                            Launch(outbox, [(c.Index, generation)]);
                            break;
                        case SteerGroupRequest.EventOneofCase.Start:
                            throw new InvalidFieldException("start", "the group has started already");
                        default:
                            throw new InvalidFieldException("event", $"message {m} holds nothing");
                    }
                }
                await Task.WhenAll(readers).ConfigureAwait(false);
            }
            finally
            {
                group.Cancel();   // a refused message or a broken call: the group's candidates leave the batch
                foreach (var s in stops.Values) s.Dispose();
            }
        }

        await foreach (var message in FanIn.Merge<SteerGroupResponse>(Run, ct).ConfigureAwait(false)) yield return message;
    }

    /// <summary>A group request as engine requests: the prompt tokenized once, each candidate's heads and sampling checked by name.</summary>
    (GenerationRequest Shared, List<GenerationRequest> Generations) Group(GenerateGroupRequest request, BatchScheduler scheduler)
    {
        if (request.Candidates.Count is < 1 or > MaxGroupCandidates)
            throw new InvalidFieldException("candidates", $"must hold 1..{MaxGroupCandidates} candidates, got {request.Candidates.Count}");
        var seen = new HashSet<int>();
        var generations = new List<GenerationRequest>(request.Candidates.Count);
        var shared = ToEngineRequest(request.Prompt, request.Format, request.HasSystemPrompt ? request.SystemPrompt : null, [], null, request.Stopping, scheduler);   // tokenized once
        for (int i = 0; i < request.Candidates.Count; i++)
        {
            var c = request.Candidates[i];
            if (!seen.Add(c.Index)) throw new InvalidFieldException($"candidates[{i}].index", $"{c.Index} appears twice");
            var generation = shared with { PrunedHeads = c.PrunedHeads.Select(h => h.ToCore()).ToList(), Sampling = ToSampling(c.Sampling) };
            try { scheduler.Validate(generation); }
            catch (InvalidFieldException e) when (e.Field.StartsWith("sampling", StringComparison.Ordinal) || e.Field.StartsWith("pruned_heads", StringComparison.Ordinal))
            {
                throw e.Within($"candidates[{i}]");
            }
            generations.Add(generation);
        }
        return (shared, generations);
    }

    /// <summary>A group holds at most this many candidates (the gateway's largest n).</summary>
    public const int MaxGroupCandidates = 64;

    /// <summary>
    /// One sequence's events as deltas and a result. Coalescing (vLLM's stream_interval): the first token goes out
    /// at once; later ones wait until the interval since the last message has passed (checked as tokens arrive), a
    /// token's text completes a line (so a delta ends exactly at the token that ended a line: where a check of the line
    /// can stop the candidate, counted in tokens), or the sequence ends.
    /// </summary>
    async Task StreamAsync(IAsyncEnumerable<GenerationEvent> events, GenerationRequest generation, int? candidate, Stopwatch received,
        Func<TokenDelta, Task> writeDelta, Func<GenerationResult, Task> writeResult)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        double logProbSum = 0, firstTokenMs = 0;
        var pending = new TokenDelta();
        long lastSent = 0;
        var interval = engine.Options.StreamInterval;
        await foreach (var e in events.ConfigureAwait(false))
        {
            text.Append(e.Text);
            pending.Text += e.Text;
            if (e.TokenId is int token)
            {
                if (tokens.Count == 0) firstTokenMs = received.Elapsed.TotalMilliseconds;
                tokens.Add(token);
                logProbSum += e.LogProb;
                pending.TokenIds.Add(token);
                pending.LogProbs.Add(e.LogProb);
                if (tokens.Count == 1 || e.Finish is not null || e.Text.Contains('\n') || Stopwatch.GetElapsedTime(lastSent) >= interval)
                {
                    await writeDelta(pending).ConfigureAwait(false);
                    pending = new TokenDelta();
                    lastSent = Stopwatch.GetTimestamp();
                }
            }
            if (e.Finish is not { } finish) continue;
            if (pending.TokenIds.Count > 0 || pending.Text.Length > 0)   // a final event without a token may still complete held-back text
                await writeDelta(pending).ConfigureAwait(false);
            double totalMs = received.Elapsed.TotalMilliseconds;
            engine.Finished(generation, candidate, tokens.Count, firstTokenMs, totalMs, e.Times);
            var result = new GenerationResult
            {
                Text = text.ToString(),
                FinishReason = Map(finish),
                MeanLogProb = LogProbs.Mean(logProbSum, tokens.Count),
                PromptTokens = generation.PromptIds.Count,
                TimeToFirstTokenMs = firstTokenMs,
                TimePerTokenMs = tokens.Count > 1 ? (totalMs - firstTokenMs) / (tokens.Count - 1) : 0,
            };
            result.TokenIds.AddRange(tokens);
            await writeResult(result).ConfigureAwait(false);
        }
    }

    public ModelInfoResponse ModelInfo()
    {
        var scheduler = engine.Require();
        var lm = scheduler.Model;
        var stats = scheduler.Stats;
        return new ModelInfoResponse
        {
            ActiveSequences = stats.ActiveSequences,
            QueuedSequences = stats.QueuedSequences,
            ModelId = lm.Id,
            Layers = lm.Config.NumLayers,
            Heads = lm.Config.NumHeads,
            KvHeads = lm.Config.NumKeyValueHeads,
            ContextLength = lm.Config.MaxPositionEmbeddings,
            VocabSize = lm.Config.VocabSize,
            Dtype = engine.Options.DType,
            MaxConcurrentSequences = engine.Options.MaxConcurrentSequences,
        };
    }


    /// <summary>
    /// The wire request as an engine request: the prompt templated and tokenized, unset parameters defaulted. Every
    /// rule is checked by the type that owns it when the scheduler accepts the request (SamplingParams,
    /// StoppingCriteria, PrunedHead, the engine's context and budget); their field names match this message's.
    /// </summary>
    /// <param name="systemPrompt">The request's system turn (null: the server's, Generator:SystemPrompt; empty: none).</param>
    GenerationRequest ToEngineRequest(string prompt, PromptFormat format, string? systemPrompt, IEnumerable<Contracts.V1.PrunedHead> prunedHeads, SamplingParameters? sampling,
        StoppingParameters? stopping, BatchScheduler scheduler)
    {
        var lm = scheduler.Model;
        if (string.IsNullOrEmpty(prompt)) throw new InvalidFieldException("prompt", "must not be empty");
        // Capped before any tokenizing: a prompt of the message size limit would otherwise be tokenized in full only to
        // be refused by the context check.
        ClientText.CheckSize(prompt, "prompt", engine.Options.MaxPromptBytes);
        ClientText.Normalized(prompt, "prompt");   // the tokenizer normalizes it: refuse what cannot be, by name
        if (format is not (PromptFormat.Unspecified or PromptFormat.Chat or PromptFormat.Raw))
            throw new InvalidFieldException("format", $"unknown prompt format {(int)format}");
        if (systemPrompt is not null)
        {
            if (format == PromptFormat.Raw) throw new InvalidFieldException("system_prompt", "applies to PROMPT_FORMAT_CHAT only (a raw prompt is tokenized as it is)");
            ClientText.CheckSize(systemPrompt, "system_prompt", engine.Options.MaxPromptBytes);
            ClientText.Normalized(systemPrompt, "system_prompt");
        }
        stopping ??= new StoppingParameters();

        var text = format == PromptFormat.Raw ? prompt : ChatPrompt.Format(prompt, systemPrompt ?? engine.Options.SystemTurn);
        var ids = lm.Tokenizer!.Encode(text);
        int room = lm.Config.MaxPositionEmbeddings - ids.Count;
        return new GenerationRequest
        {
            PromptIds = ids,
            PrunedHeads = prunedHeads.Select(h => h.ToCore()).ToList(),
            Sampling = ToSampling(sampling),
            Stopping = new StoppingCriteria
            {
                MaxNewTokens = stopping.MaxNewTokens != 0 ? stopping.MaxNewTokens : Math.Max(1, Math.Min(engine.Options.DefaultMaxNewTokens, room)),
                StopStrings = stopping.Stop.ToList(),
                IgnoreEos = stopping.IgnoreEos,
            },
        };
    }

    static SamplingParams ToSampling(SamplingParameters? sampling) => sampling is null ? SamplingParams.Greedy : new SamplingParams
    {
        Temperature = sampling.Temperature,
        TopK = sampling.TopK,
        TopP = sampling.TopP == 0 ? 1.0 : sampling.TopP,
        Seed = sampling.HasSeed ? sampling.Seed : null,
    };

    static FinishReason Map(Inference.Generation.FinishReason reason) => reason switch
    {
        Inference.Generation.FinishReason.Stop => FinishReason.Stop,
        Inference.Generation.FinishReason.Length => FinishReason.Length,
        _ => FinishReason.Cancelled,
    };
}
