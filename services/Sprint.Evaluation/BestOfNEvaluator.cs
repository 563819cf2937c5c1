using System.Collections.Concurrent;
using Sprint.Inference;
using Sprint.Inference.Encoders;
using Sprint.Inference.Generation;
using Sprint.Problems;
using Sprint.Selector;

namespace Sprint.Evaluation;

public enum Strategy { Sprint, Sampling, RandomHeads, GlobalTop, Greedy }

public static class StrategyNames
{
    public static string Name(this Strategy s) => s switch
    {
        Strategy.Sprint => "sprint",
        Strategy.Sampling => "sampling",
        Strategy.RandomHeads => "random_heads",
        Strategy.GlobalTop => "global_top",
        _ => "greedy",
    };

    public static Strategy Parse(string name) => name.Trim() switch
    {
        "sprint" => Strategy.Sprint,
        "sampling" => Strategy.Sampling,
        "random_heads" => Strategy.RandomHeads,
        "global_top" => Strategy.GlobalTop,
        "greedy" => Strategy.Greedy,
        var other => throw new ArgumentException($"unknown strategy '{other}' (sprint, sampling, random_heads, global_top, greedy)"),
    };
}

public sealed record BestOfNSettings
{
    public required IReadOnlyList<Strategy> Strategies { get; init; }
    public required int MaxN { get; init; }
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 1.0;
    public int Seed { get; init; } = 1;
    public EvalSettings Decoding { get; init; } = new();
}

/// <summary>A question's candidates under one strategy, in the strategy's order (the first n are its best-of-n).</summary>
public sealed record QuestionResult(Problem Problem, Strategy Strategy, IReadOnlyList<Candidate> Candidates);

/// <summary>
/// Decodes, for every question and strategy, the strategy's first <c>MaxN</c> candidates; best-of-n for smaller n
/// uses the first n of them (the selector's top n, the first n samples, a prefix of the random order). Greedy
/// decodes of the same (question, configuration) are shared between strategies.
/// <list type="bullet">
/// <item><c>sprint</c>: the selector's top N configurations for the question's embedding, greedy each.</item>
/// <item><c>sampling</c>: N unpruned samples at the given temperature, seeds derived from (seed, question, sample).</item>
/// <item><c>random_heads</c>: N distinct pruned heads in a random order seeded by (seed, question), greedy each.</item>
/// <item><c>global_top</c>: the N configurations that solved most training questions, the same for every question.</item>
/// <item><c>greedy</c>: one unpruned greedy candidate.</item>
/// </list>
/// </summary>
public sealed class BestOfNEvaluator(LanguageModel lm, SelectorArtifact? selector, BestOfNSettings settings, TextWriter log)
{
    public async Task<IReadOnlyList<QuestionResult>> RunAsync(IReadOnlyList<Problem> problems, CancellationToken ct)
    {
        if (lm.Tokenizer is null) throw new ArgumentException($"{lm.Directory} has no tokenizer");
        bool needsSelector = settings.Strategies.Any(s => s is Strategy.Sprint or Strategy.GlobalTop);
        if (needsSelector && selector is null) throw new ArgumentException("strategies sprint and global_top need a selector (--selector)");
        var encoder = new QuestionEncoder(lm, settings.Decoding.SystemPrompt);
        if (selector is not null && selector.Metadata.EncoderId != encoder.EncoderId)
            throw new ArgumentException($"the selector was trained on encoder '{selector.Metadata.EncoderId}', this model gives '{encoder.EncoderId}'");
        var pruned = HeadConfig.All(lm).Where(c => c.Head is not null).ToList();
        if (settings.Strategies.Contains(Strategy.RandomHeads) && settings.MaxN > pruned.Count)
            throw new ArgumentException($"random_heads: N {settings.MaxN} exceeds the {pruned.Count} pruned heads");

        using var engine = new BatchScheduler(lm, settings.Decoding.EngineOptions(lm));
        var results = new List<QuestionResult>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int perQuestion = settings.Strategies.Sum(s => s == Strategy.Greedy ? 1 : settings.MaxN);
        int chunkSize = Math.Max(1, 16 * settings.Decoding.BatchSize / perQuestion); // enough rows that chunk tails do not starve the batch
        int done = 0;
        foreach (var chunk in problems.Select((p, i) => (Problem: p, Index: i)).Chunk(chunkSize))
        {
            ct.ThrowIfCancellationRequested();
            var embeddings = needsSelector ? encoder.Encode(chunk.Select(c => c.Problem.Question).ToList()) : null;
            var greedyCache = new ConcurrentDictionary<(int, string), Task<Candidate>>();
            var tasks = new List<Task<QuestionResult>>();
            for (int q = 0; q < chunk.Length; q++)
            {
                var (problem, index) = chunk[q];
                var prompt = CandidateDecoder.Prompt(lm, problem, settings.Decoding);
                foreach (var strategy in settings.Strategies)
                {
                    IEnumerable<Task<Candidate>> candidates = strategy switch
                    {
                        Strategy.Greedy => [Greedy(engine, greedyCache, index, prompt, problem, new HeadConfig(null), ct)],
                        Strategy.Sampling => Enumerable.Range(0, settings.MaxN).Select(j => Decode(engine, prompt, problem, new HeadConfig(null),
                            new SamplingParams { Temperature = settings.Temperature, TopP = settings.TopP, Seed = SampleSeed(index, j) }, ct)),
                        Strategy.RandomHeads => pruned.ToList().Shuffle(new Random(HashCode.Combine(settings.Seed, index))).Take(settings.MaxN)
                            .Select(c => Greedy(engine, greedyCache, index, prompt, problem, c, ct)),
                        Strategy.GlobalTop => selector!.Metadata.GlobalRanking.Take(settings.MaxN)
                            .Select(name => Greedy(engine, greedyCache, index, prompt, problem, HeadConfig.Parse(name), ct)),
                        _ => selector!.TopK(embeddings![q], settings.MaxN)
                            .Select(c => Greedy(engine, greedyCache, index, prompt, problem, HeadConfig.Parse(selector.Metadata.Configs[c]), ct)),
                    };
                    var list = candidates.ToList();
                    tasks.Add(Task.WhenAll(list).ContinueWith(t => new QuestionResult(problem, strategy, t.Result), ct, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default));
                }
            }
            results.AddRange(await Task.WhenAll(tasks));
            done += chunk.Length;
            var eta = TimeSpan.FromSeconds((problems.Count - done) * clock.Elapsed.TotalSeconds / done);
            log.WriteLine($"  {done}/{problems.Count} questions  elapsed {clock.Elapsed:hh\\:mm\\:ss}  ETA {eta:hh\\:mm\\:ss}");
        }
        return results;
    }

    long SampleSeed(int question, int sample) => ((long)settings.Seed * 1_000_003 + question) * 1_009 + sample;

    Task<Candidate> Greedy(BatchScheduler engine, ConcurrentDictionary<(int, string), Task<Candidate>> cache, int index, IReadOnlyList<int> prompt,
        Problem problem, HeadConfig config, CancellationToken ct) =>
        cache.GetOrAdd((index, config.Name), _ => Decode(engine, prompt, problem, config, SamplingParams.Greedy, ct));

    async Task<Candidate> Decode(BatchScheduler engine, IReadOnlyList<int> prompt, Problem problem, HeadConfig config, SamplingParams sampling, CancellationToken ct) =>
        (await CandidateDecoder.DecodeAsync(engine, lm, prompt, problem, config, sampling, settings.Decoding, ct)).Candidate;
}

static class ShuffleExtensions
{
    /// <summary>Fisher–Yates with the given generator.</summary>
    public static List<T> Shuffle<T>(this List<T> list, Random random)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }
}
