using System.Text.Json.Nodes;
using Sprint.Core;

namespace Sprint.Inference.Tests;

/// <summary>Paths of the fixtures copied into tests/fixtures (see its README).</summary>
public static class Fixtures
{
    public static string Root { get; } = FindRoot();
    public static string GoldenModel => Path.Combine(Root, "golden", "qwen2-tiny-a");
    public static string QwenTokenizer => Path.Combine(Root, "qwen-tokenizer");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The golden reference outputs of qwen2-tiny-a (golden.json), parsed once.</summary>
public sealed class Golden
{
    public static Golden Instance { get; } = new();

    Golden()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GoldenModel, "golden.json")))!.AsObject();
        Tolerance = json["tolerance"]!["logits_max_abs"]!.GetValue<double>();
        GreedySteps = json["greedy"]!["max_new_tokens"]!.GetValue<int>();
        Cases = json["cases"]!.AsArray().Select(c => new Case(
            c!["name"]!.GetValue<string>(),
            Ints(c["input_ids"]),
            c["pruned_heads"]!.AsArray().Select(p => new PrunedHead(p![0]!.GetValue<int>(), p[1]!.GetValue<int>())).ToArray(),
            c["logits"] is JsonArray all ? all.Select(Floats).ToArray() : null,
            Floats(c["last_logits"]),
            Ints(c["greedy_tokens"]))).ToDictionary(c => c.Name);
        Batched = json["batched"]!.AsArray().Select(b => (b!["name"]!.GetValue<string>(),
            b["rows"]!.AsArray().Select(r => r!["equals_case"]!.GetValue<string>()).ToArray())).ToArray();
    }

    public double Tolerance { get; }
    public int GreedySteps { get; }
    public IReadOnlyDictionary<string, Case> Cases { get; }
    public (string Name, string[] EqualsCases)[] Batched { get; }

    static int[] Ints(JsonNode? n) => n!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
    // Stored as shortest round-trip float32 decimals: parse as float32.
    static float[] Floats(JsonNode? n) => n!.AsArray().Select(x => float.Parse(x!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public sealed record Case(string Name, int[] InputIds, PrunedHead[] PrunedHeads, float[][]? Logits, float[] LastLogits, int[] GreedyTokens);
}
