using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Inference.Generation;
using Sprint.Problems;

using Sprint.Pipeline.Evaluation;
using Sprint.Pipeline.Selection;

namespace Sprint.Pipeline.Profiling;

/// <summary>
/// SPRINT's profiling: every question decoded greedily under every configuration, graded. The questions' candidates
/// are submitted together, so rows with different head masks share each batch. The profile is JSONL: a header
/// line (model, encoder, configurations), then one line per question with its embedding and, per configuration,
/// the extracted answer, whether it is correct and the mean token log-probability. Lines are appended per chunk of
/// questions, so an interrupted run resumes where it stopped.
/// </summary>
public sealed class HeadProfiler(LanguageModel lm, IReadOnlyList<HeadConfig> configs, EvalSettings settings, TextWriter log)
{
    public async Task RunAsync(IReadOnlyList<Problem> problems, string path, bool resume, CancellationToken ct)
    {
        if (lm.Tokenizer is null) throw new ArgumentException($"{lm.Directory} has no tokenizer");
        var encoder = new QuestionEncoder(lm, settings.SystemPrompt);
        var done = resume && File.Exists(path) ? Profile.ReadForResume(path, encoder.EncoderId, configs.Select(c => c.Name).ToList()) : [];
        if (!resume || !File.Exists(path))
            File.WriteAllText(path, Profile.Header(lm.Id, encoder.EncoderId, encoder.Dimension, configs.Select(c => c.Name), settings.MaxNewTokens, settings.SystemPrompt) + "\n");
        var todo = problems.Where(p => !done.Contains(p.Id)).ToList();
        log.WriteLine($"profiling {todo.Count} questions × {configs.Count} configurations ({done.Count} already done)");

        using var engine = new BatchScheduler(lm, settings.EngineOptions(lm));
        await ChunkedRun.RunAsync(todo, configs.Count, settings.BatchSize, engine, log, chunk =>
        {
            var embeddings = encoder.Encode(chunk.Select(p => p.Question).ToList());
            var decodes = chunk.SelectMany(p =>
            {
                var prompt = CandidateDecoder.Prompt(lm, p, settings);
                return configs.Select(async c => (await CandidateDecoder.DecodeAsync(engine, lm, prompt, p, c, SamplingParams.Greedy, settings, ct)).Candidate);
            }).ToList();
            return ValueTask.FromResult(Append(chunk, embeddings, decodes));
        }, ct, done.Count).ConfigureAwait(false);

        async Task Append(Problem[] chunk, float[][] embeddings, List<Task<DecodedCandidate>> decodes)
        {
            var results = await Task.WhenAll(decodes).ConfigureAwait(false);
            await using var writer = File.AppendText(path);
            for (int q = 0; q < chunk.Length; q++)
                await writer.WriteLineAsync(Profile.Line(chunk[q], embeddings[q], results.Skip(q * configs.Count).Take(configs.Count)
                    .Select((r, i) => (configs[i].Name, r.Answer, r.Correct, r.MeanLogProb)))).ConfigureAwait(false);
        }
    }
}
