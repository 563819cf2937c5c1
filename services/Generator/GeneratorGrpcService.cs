using System.Diagnostics;
using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.Inference.Generation;
using Sprint.Inference.Text;
using Sprint.ServiceDefaults;
using FinishReason = Sprint.Contracts.V1.FinishReason;

namespace Sprint.Generator;

/// <summary>Generate and ModelInfo over the replica's batch scheduler.</summary>
public sealed class GeneratorGrpcService(GeneratorEngine engine) : GeneratorService.GeneratorServiceBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        var received = Stopwatch.StartNew();
        var scheduler = engine.Require();
        var generation = ToEngineRequest(request, scheduler);

        IAsyncEnumerable<GenerationEvent> events;
        try { events = scheduler.Submit(generation, context.CancellationToken); }
        catch (EngineOverloadedException e) { throw Invalid.Exhausted(e.Message); }

        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        double logProbSum = 0, firstTokenMs = 0;
        // Coalescing (vLLM's stream_interval): the first token goes out at once; later ones wait until the interval
        // since the last message has passed (checked as tokens arrive) or the sequence ends.
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
                if (tokens.Count == 1 || e.Finish is not null || Stopwatch.GetElapsedTime(lastSent) >= interval)
                {
                    await responseStream.WriteAsync(new GenerateResponse { Delta = pending }, context.CancellationToken).ConfigureAwait(false);
                    pending = new TokenDelta();
                    lastSent = Stopwatch.GetTimestamp();
                }
            }
            if (e.Finish is not { } finish) continue;
            if (pending.TokenIds.Count > 0 || pending.Text.Length > 0)   // a final event without a token may still complete held-back text
                await responseStream.WriteAsync(new GenerateResponse { Delta = pending }, context.CancellationToken).ConfigureAwait(false);
            double totalMs = received.Elapsed.TotalMilliseconds;
            engine.Record(tokens.Count, firstTokenMs);
            var result = new GenerationResult
            {
                Text = text.ToString(),
                FinishReason = Map(finish),
                MeanLogProb = tokens.Count == 0 ? 0 : logProbSum / tokens.Count,
                PromptTokens = generation.PromptIds.Count,
                TimeToFirstTokenMs = firstTokenMs,
                TimePerTokenMs = tokens.Count > 1 ? (totalMs - firstTokenMs) / (tokens.Count - 1) : 0,
            };
            result.TokenIds.AddRange(tokens);
            await responseStream.WriteAsync(new GenerateResponse { Result = result }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<ModelInfoResponse> ModelInfo(ModelInfoRequest request, ServerCallContext context)
    {
        var scheduler = engine.Require();
        var lm = scheduler.Model;
        return Task.FromResult(new ModelInfoResponse
        {
            ModelId = lm.Id,
            Layers = lm.Config.NumLayers,
            Heads = lm.Config.NumHeads,
            KvHeads = lm.Config.NumKeyValueHeads,
            ContextLength = lm.Config.MaxPositionEmbeddings,
            VocabSize = lm.Config.VocabSize,
            Dtype = engine.Options.DType,
            MaxConcurrentSequences = engine.Options.MaxConcurrentSequences,
        });
    }

    /// <summary>
    /// The wire request as an engine request: the prompt templated and tokenized, unset parameters defaulted. Every
    /// rule is checked by the type that owns it when the scheduler accepts the request (SamplingParams,
    /// StoppingCriteria, PrunedHead, the engine's context and budget); their field names match this message's.
    /// </summary>
    GenerationRequest ToEngineRequest(GenerateRequest r, BatchScheduler scheduler)
    {
        var lm = scheduler.Model;
        if (string.IsNullOrEmpty(r.Prompt)) throw new InvalidFieldException("prompt", "must not be empty");
        if (r.Format is not (PromptFormat.Unspecified or PromptFormat.Chat or PromptFormat.Raw))
            throw new InvalidFieldException("format", $"unknown prompt format {(int)r.Format}");
        var sampling = r.Sampling ?? new SamplingParameters();
        var stopping = r.Stopping ?? new StoppingParameters();

        var text = r.Format == PromptFormat.Raw ? r.Prompt : ChatPrompt.Format(r.Prompt, string.IsNullOrEmpty(engine.Options.SystemPrompt) ? null : engine.Options.SystemPrompt);
        var ids = lm.Tokenizer!.Encode(text);
        int room = lm.Config.MaxPositionEmbeddings - ids.Count;
        return new GenerationRequest
        {
            PromptIds = ids,
            PrunedHeads = r.PrunedHeads.Select(h => h.ToCore()).ToList(),
            Sampling = new SamplingParams
            {
                Temperature = sampling.Temperature,
                TopK = sampling.TopK,
                TopP = sampling.TopP == 0 ? 1.0 : sampling.TopP,
                Seed = sampling.HasSeed ? sampling.Seed : null,
            },
            Stopping = new StoppingCriteria
            {
                MaxNewTokens = stopping.MaxNewTokens != 0 ? stopping.MaxNewTokens : Math.Max(1, Math.Min(engine.Options.DefaultMaxNewTokens, room)),
                StopStrings = stopping.Stop.ToList(),
                IgnoreEos = stopping.IgnoreEos,
            },
        };
    }

    static FinishReason Map(Inference.Generation.FinishReason reason) => reason switch
    {
        Inference.Generation.FinishReason.Stop => FinishReason.Stop,
        Inference.Generation.FinishReason.Length => FinishReason.Length,
        _ => FinishReason.Cancelled,
    };
}
