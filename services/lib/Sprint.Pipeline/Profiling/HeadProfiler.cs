using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Inference.Generation;
using Sprint.Problems;

using Sprint.Pipeline.Evaluation;

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
        var done = resume && File.Exists(path) ? ReadDone(path, encoder.EncoderId) : [];
        if (!resume || !File.Exists(path))
            File.WriteAllText(path, new JsonObject
            {
                ["type"] = "header",
                ["model"] = lm.Id,
                ["encoder"] = encoder.EncoderId,
                ["embedding_dim"] = encoder.Dimension,
                ["configs"] = new JsonArray(configs.Select(c => (JsonNode)c.Name).ToArray()),
                ["max_new_tokens"] = settings.MaxNewTokens,
                ["system_prompt"] = settings.SystemPrompt,
            }.ToJsonString() + "\n");
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
                await writer.WriteLineAsync(Line(chunk[q], embeddings[q], results.Skip(q * configs.Count).Take(configs.Count))).ConfigureAwait(false);
        }
    }

    string Line(Problem p, float[] embedding, IEnumerable<DecodedCandidate> results) => new JsonObject
    {
        ["id"] = p.Id,
        ["question"] = p.Question,
        ["answer"] = p.Answer,
        ["level"] = p.Level,
        ["embedding"] = new JsonArray(embedding.Select(x => (JsonNode)x).ToArray()),
        ["candidates"] = new JsonArray(results.Select((r, i) => (JsonNode)new JsonObject
        {
            ["config"] = configs[i].Name,
            ["answer"] = r.Answer,
            ["correct"] = r.Correct,
            ["mean_logprob"] = double.IsFinite(r.MeanLogProb) ? Math.Round(r.MeanLogProb, 5) : null,
        }).ToArray()),
    }.ToJsonString(Relaxed);

    static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static bool IsJson(string line)
    {
        try { JsonNode.Parse(line); return true; }
        catch (JsonException) { return false; }
    }

    HashSet<string> ReadDone(string path, string encoderId)
    {
        var text = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (text.Count > 1 && !IsJson(text[^1]))
        {
            // The last line was cut off by an interruption: drop it, so that question is profiled again.
            text.RemoveAt(text.Count - 1);
            File.WriteAllLines(path, text);
        }
        var lines = text.Select(l => JsonNode.Parse(l)!).ToList();
        var header = lines.FirstOrDefault();
        var names = header?["configs"]?.AsArray().Select(x => x!.GetValue<string>()).ToList();
        if (header?["type"]?.GetValue<string>() != "header" || names is null || !names.SequenceEqual(configs.Select(c => c.Name))
            || header["encoder"]?.GetValue<string>() != encoderId)
            throw new InvalidOperationException($"{path} was made with another model, encoder or configuration list; use a new --out to start afresh");
        return lines.Skip(1).Select(l => l["id"]!.GetValue<string>()).ToHashSet();
    }
}
