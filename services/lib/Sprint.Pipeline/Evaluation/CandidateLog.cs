using System.Text.Json;
using System.Text.Json.Serialization;
using Sprint.Core;
using Sprint.Problems;

namespace Sprint.Pipeline.Evaluation;

/// <summary>
/// Every decoded candidate of an evaluation, one JSON line per question and strategy: the question id, the strategy
/// and per candidate its configuration, text, extracted answer, correctness, mean log-probability, generated tokens,
/// step check and where each token's text ends (<c>Ends</c>: what a rejection replay counts tokens by). Lines are appended as each chunk of questions finishes, so an interrupted run resumes from the
/// log (<see cref="Load"/>), and a finished log is re-reported (other aggregations, adaptive policies) without
/// decoding again: read back, each text is graded and step-checked anew.
/// </summary>
public sealed class CandidateLog(string path, bool append) : IDisposable
{
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    readonly StreamWriter writer = new(path, append);

    sealed record Line(string Id, string Strategy, List<Entry> Candidates);
    sealed record Entry(string Config, string Text, string? Answer, bool Correct, double MeanLogProb, int Tokens, int CheckedSteps, int FailedSteps, int[]? Ends = null);

    public void Write(IEnumerable<QuestionResult> results)
    {
        foreach (var r in results)
            writer.WriteLine(JsonSerializer.Serialize(new Line(r.Problem.Id, r.Strategy.Name(), r.Candidates.Select(c =>
                new Entry(c.Config, c.Text, c.Answer, c.Correct, c.MeanLogProb, c.Tokens, c.Check?.CheckedSteps ?? 0, c.Check?.FailedSteps ?? 0, c.TextEnds?.ToArray())).ToList()), Json));
        writer.Flush();
    }

    /// <summary>The results a log holds for <paramref name="problems"/>, by question id and strategy (a cut-off last line is ignored).</summary>
    public static Dictionary<(string Id, Strategy Strategy), QuestionResult> Load(string path, IReadOnlyList<Problem> problems)
    {
        var byId = problems.ToDictionary(p => p.Id);
        var results = new Dictionary<(string, Strategy), QuestionResult>();
        if (!File.Exists(path)) return results;
        foreach (var text in File.ReadLines(path))
        {
            Line? line;
            try { line = JsonSerializer.Deserialize<Line>(text, Json); }
            catch (JsonException) { continue; }   // the line an interrupted run was writing
            if (line is null || !byId.TryGetValue(line.Id, out var problem)) continue;
            var strategy = StrategyNames.Parse(line.Strategy);
            results[(line.Id, strategy)] = new QuestionResult(problem, strategy,
                line.Candidates.Select(c => CandidateDecoder.Grade(problem, c.Config, c.Text, c.MeanLogProb, c.Tokens, c.Ends)).ToList());
        }
        return results;
    }

    public void Dispose() => writer.Dispose();
}
