using System.Diagnostics;
using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Inference.Generation;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using Sprint.ServiceDefaults;
using FinishReason = Sprint.Contracts.V1.FinishReason;
using PrunedHead = Sprint.Inference.Model.PrunedHead;

namespace Sprint.Generator;

/// <summary>Generate and ModelInfo over the replica's batch scheduler.</summary>
public sealed class GeneratorGrpcService(GeneratorEngine engine) : GeneratorService.GeneratorServiceBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        var received = Stopwatch.StartNew();
        var scheduler = engine.Scheduler ?? throw Invalid.Loading("the model");
        var generation = ToEngineRequest(request, scheduler);

        IAsyncEnumerable<GenerationEvent> events;
        try { events = scheduler.Submit(generation, context.CancellationToken); }
        catch (EngineOverloadedException e) { throw Invalid.Exhausted(e.Message); }

        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        double logProbSum = 0, firstTokenMs = 0;
        await foreach (var e in events.ConfigureAwait(false))
        {
            text.Append(e.Text);
            if (e.TokenId is int token)
            {
                if (tokens.Count == 0) firstTokenMs = received.Elapsed.TotalMilliseconds;
                tokens.Add(token);
                logProbSum += e.LogProb;
                await responseStream.WriteAsync(new GenerateResponse { Delta = new TokenDelta { TokenId = token, Text = e.Text, LogProb = e.LogProb } },
                    context.CancellationToken).ConfigureAwait(false);
            }
            if (e.Finish is not { } finish) continue;
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
        var scheduler = engine.Scheduler ?? throw Invalid.Loading("the model");
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

    GenerationRequest ToEngineRequest(GenerateRequest r, BatchScheduler scheduler)
    {
        var lm = scheduler.Model;
        if (string.IsNullOrEmpty(r.Prompt)) throw Invalid.Argument("prompt", "must not be empty");
        if (r.Format is not (PromptFormat.Unspecified or PromptFormat.Chat or PromptFormat.Raw))
            throw Invalid.Argument("format", $"unknown prompt format {(int)r.Format}");
        if (!(r.Temperature >= 0) || float.IsInfinity(r.Temperature)) throw Invalid.Argument("temperature", $"must be a finite number >= 0, got {r.Temperature}");
        if (r.TopK < 0) throw Invalid.Argument("top_k", $"must be >= 0, got {r.TopK}");
        if (!(r.TopP >= 0 && r.TopP <= 1)) throw Invalid.Argument("top_p", $"must be in (0, 1] (0 means 1), got {r.TopP}");
        if (r.MaxNewTokens < 0) throw Invalid.Argument("max_new_tokens", $"must be >= 0 (0 takes the default), got {r.MaxNewTokens}");
        for (int i = 0; i < r.Stop.Count; i++)
            if (string.IsNullOrEmpty(r.Stop[i])) throw Invalid.Argument($"stop[{i}]", "must not be empty");
        var heads = new List<PrunedHead>(r.PrunedHeads.Count);
        for (int i = 0; i < r.PrunedHeads.Count; i++)
        {
            var h = r.PrunedHeads[i];
            if (h.Layer < 0 || h.Layer >= lm.Config.NumLayers)
                throw Invalid.Argument($"pruned_heads[{i}].layer", $"{h.Layer} is outside 0..{lm.Config.NumLayers - 1}");
            if (h.Head < 0 || h.Head >= lm.Config.NumHeads)
                throw Invalid.Argument($"pruned_heads[{i}].head", $"{h.Head} is outside 0..{lm.Config.NumHeads - 1}");
            heads.Add(new PrunedHead(h.Layer, h.Head));
        }

        var text = r.Format == PromptFormat.Raw ? r.Prompt : ChatPrompt.Format(r.Prompt, string.IsNullOrEmpty(engine.Options.SystemPrompt) ? null : engine.Options.SystemPrompt);
        var ids = lm.Tokenizer!.Encode(text);
        int context = lm.Config.MaxPositionEmbeddings;
        if (ids.Count >= context) throw Invalid.Argument("prompt", $"{ids.Count} tokens leave no room in the model's {context}-token context");
        int maxNew = r.MaxNewTokens > 0 ? r.MaxNewTokens : Math.Min(engine.Options.DefaultMaxNewTokens, context - ids.Count);
        if (ids.Count + maxNew > context)
            throw Invalid.Argument("max_new_tokens", $"prompt ({ids.Count} tokens) + {maxNew} exceeds the model's {context}-token context");
        return new GenerationRequest
        {
            PromptIds = ids,
            PrunedHeads = heads,
            MaxNewTokens = maxNew,
            StopStrings = r.Stop.ToList(),
            IgnoreEos = r.IgnoreEos,
            Sampling = new SamplingParams
            {
                Temperature = r.Temperature,
                TopK = r.TopK,
                TopP = r.TopP == 0 ? 1.0 : r.TopP,
                Seed = r.HasSeed ? unchecked((long)r.Seed) : null,
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
