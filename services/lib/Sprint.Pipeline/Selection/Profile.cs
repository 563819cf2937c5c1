using Sprint.Selection;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Sprint.Pipeline.Selection;

/// <summary>
/// A profile written by <c>sprint profile</c>: per question, its embedding and which configurations solved it. This
/// type owns the file's format — JSONL, a header line (model, encoder, configurations), then one line per question
/// (<see cref="Header"/>, <see cref="Line"/>) — and reads it for training and analysis (<see cref="Load"/>) and for a
/// resumed profile run (<see cref="ReadForResume"/>).
/// </summary>
public sealed record Profile(string ModelId, string EncoderId, IReadOnlyList<string> Configs, IReadOnlyList<ProfiledQuestion> Questions, string Sha256)
{
    static readonly System.Text.Json.JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Header(string modelId, string encoderId, int embeddingDim, IEnumerable<string> configs, int maxNewTokens, string? systemPrompt) => new JsonObject
    {
        ["type"] = "header",
        ["model"] = modelId,
        ["encoder"] = encoderId,
        ["embedding_dim"] = embeddingDim,
        ["configs"] = new JsonArray(configs.Select(c => (JsonNode)c).ToArray()),
        ["max_new_tokens"] = maxNewTokens,
        ["system_prompt"] = systemPrompt,
    }.ToJsonString();

    /// <summary>One question's line: its embedding and, per configuration in the header's order, answer, correctness and mean log-probability.</summary>
    public static string Line(Problems.Problem p, float[] embedding, IEnumerable<(string Config, string? Answer, bool Correct, double MeanLogProb)> results) => new JsonObject
    {
        ["id"] = p.Id,
        ["question"] = p.Question,
        ["answer"] = p.Answer,
        ["level"] = p.Level,
        ["embedding"] = new JsonArray(embedding.Select(x => (JsonNode)x).ToArray()),
        ["candidates"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
        {
            ["config"] = r.Config,
            ["answer"] = r.Answer,
            ["correct"] = r.Correct,
            ["mean_logprob"] = double.IsFinite(r.MeanLogProb) ? Math.Round(r.MeanLogProb, 5) : null,
        }).ToArray()),
    }.ToJsonString(Relaxed);

    /// <summary>The header and every complete question line; a last line cut off by an interruption is left out.</summary>
    static (JsonNode Header, List<JsonNode> Questions, bool CutOff) Read(string path)
    {
        var lines = File.ReadLines(path).Where(l => l.Length > 0).ToList();
        var header = JsonNode.Parse(lines.FirstOrDefault() ?? "{}")!;
        if (header["type"]?.GetValue<string>() != "header") throw new FormatException($"{path}: the first line is not a profile header");
        var questions = new List<JsonNode>();
        bool cutOff = false;
        foreach (var (line, i) in lines.Skip(1).Select((l, i) => (l, i + 2)))
        {
            try { questions.Add(JsonNode.Parse(line)!); }
            catch (System.Text.Json.JsonException) when (i == lines.Count) { cutOff = true; }
        }
        return (header, questions, cutOff);
    }

    /// <summary>
    /// For a resumed run: the ids already profiled, after checking the file was made with the same encoder and
    /// configurations; a cut-off last line is removed from the file, so that question is profiled again.
    /// </summary>
    public static HashSet<string> ReadForResume(string path, string encoderId, IReadOnlyList<string> configs)
    {
        var (header, questions, cutOff) = Read(path);
        if (cutOff) File.WriteAllLines(path, File.ReadLines(path).Where(l => l.Length > 0).SkipLast(1).ToList());
        var names = header["configs"]?.AsArray().Select(x => x!.GetValue<string>()).ToList();
        if (names is null || !names.SequenceEqual(configs) || header["encoder"]?.GetValue<string>() != encoderId)
            throw new InvalidOperationException($"{path} was made with another model, encoder or configuration list; use a new --out to start afresh");
        return questions.Select(l => l["id"]!.GetValue<string>()).ToHashSet();
    }

    public static Profile Load(string path)
    {
        var (header, lines, _) = Read(path);
        var configs = header["configs"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var questions = new List<ProfiledQuestion>();
        foreach (var q in lines)
        {
            var candidates = q["candidates"]!.AsArray();
            questions.Add(new ProfiledQuestion(
                q["id"]!.GetValue<string>(),
                q["level"]?.GetValue<int?>(),
                q["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray(),
                candidates.Select(c => c!["correct"]!.GetValue<bool>()).ToArray()) { Question = q["question"]?.GetValue<string>() ?? "" });
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        return new Profile(header["model"]!.GetValue<string>(), header["encoder"]!.GetValue<string>(), configs, questions, hash);
    }
}

public sealed record ProfiledQuestion(string Id, int? Level, float[] Embedding, bool[] Correct)
{
    /// <summary>The question's text (empty where the profile does not carry it).</summary>
    public string Question { get; init; } = "";

    public int Solved => Correct.Count(c => c);
}
