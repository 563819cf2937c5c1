using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sprint.Problems;

/// <summary>Reads GSM8K, MATH500 and the project's own JSONL files into <see cref="Problem"/>s, and writes the latter.</summary>
public static partial class ProblemFiles
{
    /// <summary>Reads any of the three formats, recognised by their fields.</summary>
    public static IReadOnlyList<Problem> Load(string path, string? source = null)
    {
        source ??= Path.GetFileNameWithoutExtension(path);
        var problems = new List<Problem>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonObject json;
            try { json = JsonNode.Parse(text)?.AsObject() ?? throw new FormatException("empty"); }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new FormatException($"{path}:{line}: not a JSON object: {e.Message}");
            }
            problems.Add(Parse(json, $"{source}-{line}", path, line));
        }
        return problems;
    }

    static Problem Parse(JsonObject json, string fallbackId, string path, int line)
    {
        string? S(string key) => json[key]?.GetValueKind() == JsonValueKind.String ? json[key]!.GetValue<string>() : json[key]?.ToJsonString();
        if (json.ContainsKey("problem") && json.ContainsKey("answer"))
            return new Problem(S("unique_id") ?? fallbackId, S("problem")!, S("answer")!, json["level"]?.GetValue<int>(), "math500", S("solution"));
        if (json.ContainsKey("question") && json.ContainsKey("answer") && !json.ContainsKey("source"))
        {
            var answer = S("answer")!;
            var final = GsmFinal().Match(answer);
            if (!final.Success) throw new FormatException($"{path}:{line}: GSM8K answer has no '#### n' line");
            return new Problem(fallbackId, S("question")!, final.Groups[1].Value.Trim().Replace(",", ""), null, "gsm8k", answer);
        }
        if (json.ContainsKey("question") && json.ContainsKey("answer"))
            return new Problem(S("id") ?? fallbackId, S("question")!, S("answer")!, json["level"]?.GetValue<int>(), S("source")!, S("solution"));
        throw new FormatException($"{path}:{line}: expected GSM8K (question, answer), MATH500 (problem, solution, answer) or Sprint (id, question, answer, source) fields");
    }

    public static void Write(string path, IEnumerable<Problem> problems)
    {
        using var writer = new StreamWriter(path);
        foreach (var p in problems)
        {
            var json = new JsonObject { ["id"] = p.Id, ["question"] = p.Question, ["answer"] = p.Answer, ["level"] = p.Level, ["source"] = p.Source };
            if (p.Solution is not null) json["solution"] = p.Solution;
            writer.WriteLine(json.ToJsonString(Relaxed));
        }
    }

    static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [GeneratedRegex(@"####\s*(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex GsmFinal();
}
