using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>
/// What <see cref="CandidatePlanner"/> needs, asked of the upstream services for one Solve: the model shape from the
/// generators' ModelInfo, the selector's metadata from SelectorInfo, and for "sprint" the question's vector from
/// Embedding scored by Select. Records the encoder id and cache outcome for the plan event. A selector trained for
/// another model than the generators serve is refused here (FAILED_PRECONDITION). A failed call to the embedding
/// service or the head selector is thrown as <see cref="HeadSourceFailure"/>, naming the service, for
/// <see cref="HeadsFallback"/> to judge.
/// </summary>
public sealed class GatewayPlanSources(Upstreams upstreams, DateTime deadline) : IPlanSources
{
    public string EncoderId { get; private set; } = "";
    /// <summary>The head source being asked now (<see cref="HeadSourceFailure.Embedding"/> or <see cref="HeadSourceFailure.Selector"/>); null when none.</summary>
    public string? Asking { get; private set; }
    public bool EmbeddingCached { get; private set; }

    /// <summary>The plan event: the candidates, and what the sources learnt while planning (the encoder, the cache).</summary>
    public Plan ToProto(CandidatePlan plan, SolveSpec spec, PlanFallback? fallback = null)
    {
        var message = new Plan
        {
            Strategy = plan.Strategy.ToProto(), Seed = plan.Seed, EncoderId = EncoderId, EmbeddingCached = EmbeddingCached,
            Aggregation = spec.Aggregation.ToProto(), Adaptive = spec.Adaptive?.ToProto(), Fallback = fallback,
            Rejection = spec.Rejecting.ToProto(plan.Candidates.Count),   // the plan's length: the replacement cap (cut to the selector's configurations)
        };
        static Contracts.V1.PlannedCandidate Planned(PlanEntry c) => new()
        {
            Index = c.Index,
            Configuration = c.Config.ToProto(),
            Score = c.Score,
            Temperature = (float)c.Sampling.Temperature,
            Seed = c.Sampling.Seed ?? 0,
        };
        message.Candidates.AddRange(plan.Candidates.Take(spec.N).Select(Planned));
        message.Replacements.AddRange(plan.Candidates.Skip(spec.N).Select(Planned));   // replace: the plan's next ones
        return message;
    }

    public async ValueTask<ModelShape> ShapeAsync(CancellationToken ct)
    {
        var info = await upstreams.ModelInfoAsync(ct).ConfigureAwait(false);
        return new ModelShape(info.Layers, info.Heads);
    }

    public async ValueTask<int> SelectorConfigurationsAsync(CancellationToken ct) => (await SelectorForModelAsync(ct).ConfigureAwait(false)).Configurations.Count;

    public async ValueTask<IReadOnlyList<ScoredConfig>> SelectAsync(string question, int k, CancellationToken ct)
    {
        var selector = await SelectorForModelAsync(ct).ConfigureAwait(false);
        EmbedResponse embedding;
        Asking = HeadSourceFailure.Embedding;
        try { embedding = await upstreams.Embedding.EmbedAsync(new EmbedRequest { Text = question }, deadline: deadline, cancellationToken: ct); }
        catch (RpcException e) when (ErrorInterceptor.InvalidField(e) is { Field: "text" } invalid)
        {
            throw new InvalidFieldException("question", invalid.Why);   // the embedding service's text is this request's question
        }
        catch (RpcException e) { throw new HeadSourceFailure(HeadSourceFailure.Embedding, e); }
        EncoderId = embedding.EncoderId;
        if (embedding.EncoderId != selector.EncoderId)
            throw new FailedPreconditionException($"the head selector takes vectors of encoder '{selector.EncoderId}' but the embedding " +
                $"service gives '{embedding.EncoderId}': serve the model the selector was trained on, or train a selector on this encoder");
        EmbeddingCached = embedding.Cache == CacheOutcome.Hit;
        var select = new SelectRequest { K = k, EncoderId = embedding.EncoderId, ModelId = selector.ModelId };
        select.Vector.AddRange(embedding.Vector);
        SelectResponse selected;
        Asking = HeadSourceFailure.Selector;
        try { selected = await upstreams.Selector.SelectAsync(select, deadline: deadline, cancellationToken: ct); }
        catch (RpcException e) when (e.StatusCode != StatusCode.InvalidArgument) { throw new HeadSourceFailure(HeadSourceFailure.Selector, e); }
        Asking = null;
        return selected.Configurations.Select(s => new ScoredConfig(HeadConfig.Parse(s.Configuration.Name), s.Score)).ToList();
    }

    public async ValueTask<IReadOnlyList<HeadConfig>> GlobalRankingAsync(CancellationToken ct) =>
        (await SelectorForModelAsync(ct).ConfigureAwait(false)).GlobalRanking.Select(HeadConfig.Parse).ToList();

    async Task<SelectorInfoResponse> SelectorForModelAsync(CancellationToken ct)
    {
        var model = await upstreams.ModelInfoAsync(ct).ConfigureAwait(false);
        SelectorInfoResponse selector;
        Asking = HeadSourceFailure.Selector;
        try { selector = await upstreams.SelectorInfoAsync(ct).ConfigureAwait(false); }
        catch (RpcException e) { throw new HeadSourceFailure(HeadSourceFailure.Selector, e); }
        Asking = null;
        if (selector.ModelId != model.ModelId)
            throw new FailedPreconditionException($"the head selector was trained for model '{selector.ModelId}' but the generators serve " +
                $"'{model.ModelId}': train a selector for it (sprint profile, then sprint train-selector) or use strategy sampling, random_heads or greedy");
        return selector;
    }
}
