using Sprint.Selection;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Sprint.Pipeline.Selection;

/// <summary>A profile written by <c>sprint profile</c>: per question, its embedding and which configurations solved it.</summary>
public sealed record Profile(string ModelId, string EncoderId, IReadOnlyList<string> Configs, IReadOnlyList<ProfiledQuestion> Questions, string Sha256)
{
    public static Profile Load(string path)
    {
        var lines = File.ReadLines(path).Where(l => l.Length > 0).ToList();
        var header = JsonNode.Parse(lines.FirstOrDefault() ?? "{}")!;
        if (header["type"]?.GetValue<string>() != "header") throw new FormatException($"{path}: the first line is not a profile header");
        var configs = header["configs"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var questions = new List<ProfiledQuestion>();
        foreach (var (line, i) in lines.Skip(1).Select((l, i) => (l, i + 2)))
        {
            JsonNode q;
            try { q = JsonNode.Parse(line)!; }
            catch (System.Text.Json.JsonException) when (i == lines.Count) { break; } // a line cut off by an interruption
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
