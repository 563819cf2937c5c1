using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

/// <summary>Turns a request into N candidates: which configuration each decodes with, at which temperature and seed.</summary>
public sealed class SolvePlanner(Upstreams upstreams, GatewayOptions options)
{
    public async Task<Plan> PlanAsync(SolveSpec spec, DateTime deadline, CancellationToken ct)
    {
        var plan = new Plan { Strategy = spec.Strategy, Seed = spec.Seed };
        switch (spec.Strategy)
        {
            case "sprint":
                var embedding = await upstreams.Embedding.EmbedAsync(new EmbedRequest { Text = spec.Question }, deadline: deadline, cancellationToken: ct);
                plan.EncoderId = embedding.EncoderId;
                plan.EmbeddingCached = embedding.Cache == CacheOutcome.Hit;
                var select = new SelectRequest { K = spec.N, EncoderId = embedding.EncoderId };
                select.Vector.AddRange(embedding.Vector);
                SelectResponse selected;
                try { selected = await upstreams.Selector.SelectAsync(select, deadline: deadline, cancellationToken: ct); }
                catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.StartsWith("k:", StringComparison.Ordinal))
                {
                    throw Invalid.Argument("n", $"more candidates than the selector has configurations (its k {e.Status.Detail[2..].Trim()})");
                }
                foreach (var s in selected.Configurations) Add(plan, spec, s.Configuration, s.Score, spec.Temperature ?? 0);
                break;
            case "sampling":
                for (int i = 0; i < spec.N; i++)
                    Add(plan, spec, HeadConfigurations.FromName(HeadConfigurations.Unpruned), 0, spec.Temperature ?? options.DefaultSamplingTemperature);
                break;
            case "random_heads":
                var info = await upstreams.ModelInfoAsync(ct);
                int total = info.Layers * info.Heads;
                if (spec.N > total) throw Invalid.Argument("n", $"random_heads has {total} pruned heads to choose from, got {spec.N}");
                var heads = Enumerable.Range(0, total).ToArray();
                new Random(unchecked((int)(spec.Seed ^ (spec.Seed >> 32)))).Shuffle(heads);
                foreach (var h in heads.Take(spec.N))
                    Add(plan, spec, HeadConfigurations.Pruned(h / info.Heads, h % info.Heads), 0, spec.Temperature ?? 0);
                break;
            default:
                Add(plan, spec, HeadConfigurations.FromName(HeadConfigurations.Unpruned), 0, spec.Temperature ?? 0);
                break;
        }
        return plan;
    }

    static void Add(Plan plan, SolveSpec spec, HeadConfiguration config, float score, float temperature)
    {
        int index = plan.Candidates.Count;
        plan.Candidates.Add(new PlannedCandidate
        {
            Index = index,
            Configuration = config,
            Score = score,
            Temperature = temperature,
            Seed = unchecked(spec.Seed + (ulong)index),
        });
    }
}
