using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Generation;
using Sprint.Problems;

namespace Sprint.Pipeline.Evaluation;

/// <summary>One question's greedy answer and its grade.</summary>
public sealed record GradedAnswer(Problem Problem, string Output, string? Extracted, bool Correct);

/// <summary>Accuracy overall and per level (problems without a level are counted under level 0).</summary>
public sealed record AccuracyReport(int Count, int Correct, IReadOnlyDictionary<int, (int Count, int Correct)> ByLevel)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    public static AccuracyReport From(IReadOnlyList<GradedAnswer> answers) => new(
        answers.Count,
        answers.Count(a => a.Correct),
        answers.GroupBy(a => a.Problem.Level ?? 0).OrderBy(g => g.Key)
            .ToDictionary(g => g.Key, g => (g.Count(), g.Count(a => a.Correct))));
}

/// <summary>
/// Decodes every question greedily (unpruned) through the batch scheduler — all questions are submitted at once
/// and the scheduler batches them — and grades the extracted answers.
/// </summary>
public static class GreedyEvaluator
{
    public static async Task<IReadOnlyList<GradedAnswer>> RunAsync(LanguageModel lm, IReadOnlyList<Problem> problems, EvalSettings settings,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        if (lm.Tokenizer is null) throw new ArgumentException($"{lm.Directory} has no tokenizer: it cannot be evaluated on text questions");
        using var engine = new BatchScheduler(lm, settings.EngineOptions(lm));
        int done = 0;
        List<Task<GradedAnswer>> tasks;
        using (engine.HoldAdmission())   // everything queued first: the same batches in every run
            tasks = problems.Select(async p =>
            {
                var (output, candidate) = await CandidateDecoder.DecodeAsync(engine, lm, CandidateDecoder.Prompt(lm, p, settings), p,
                    new HeadConfig(null), SamplingParams.Greedy, settings, ct).ConfigureAwait(false);
                progress?.Report(Interlocked.Increment(ref done));
                return new GradedAnswer(p, output, candidate.Answer, candidate.Correct);
            }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}

public sealed record EvalSettings
{
    public int BatchSize { get; init; } = 32;
    public int MaxNewTokens { get; init; } = Defaults.MaxNewTokens;
    /// <summary>Null: no system turn (the default model is trained without one).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>An offline run queues all its work: BatchSize rows decode together, the rest wait.</summary>
    public EngineOptions EngineOptions(LanguageModel lm) => new()
    {
        MaxConcurrentSequences = BatchSize,
        MaxBatchTokens = (long)BatchSize * lm.Config.MaxPositionEmbeddings,
        MaxQueuedSequences = int.MaxValue,
    };
}
