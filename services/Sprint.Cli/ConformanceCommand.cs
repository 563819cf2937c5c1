using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Model;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint conformance</c>: runs the cases of a golden file (schema <c>head-pruning-golden/1</c>) and writes the
/// engine's own outputs in the same schema, so any other implementation can be compared with this one. When the
/// input holds expected values, prints how far the engine is from them and exits 1 beyond the file's tolerance.
/// </summary>
static class ConformanceCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var cases = new Option<string>("--cases") { Description = "Golden-schema JSON with cases[].input_ids and cases[].pruned_heads", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write the engine's outputs", Required = true };
        var greedy = new Option<int?>("--greedy") { Description = "Greedy steps per case (default: the file's greedy.max_new_tokens, else 24)" };
        var batched = new Option<bool>("--batched") { Description = "Run all cases as one batch" };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var command = new Command("conformance", "Compute logits and greedy continuations for golden-file cases")
        {
            model, cases, output, greedy, batched, dtype, threads,
        };
        command.SetAction(parse =>
        {
            JsonObject input;
            try { input = JsonNode.Parse(File.ReadAllText(parse.GetValue(cases)!))!.AsObject(); }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: cannot read {parse.GetValue(cases)}: {e.Message}");
                return 2;
            }
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            int steps = parse.GetValue(greedy) ?? input["greedy"]?["max_new_tokens"]?.GetValue<int>() ?? 24;
            var inputCases = input["cases"]!.AsArray().Select(c => c!.AsObject()).ToList();
            var runs = inputCases.Select(c => (
                (IReadOnlyList<int>)c["input_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray(),
                (IReadOnlyList<PrunedHead>)(c["pruned_heads"]?.AsArray() ?? []).Select(p => new PrunedHead(p![0]!.GetValue<int>(), p[1]!.GetValue<int>())).ToArray()))
                .ToList();
            IReadOnlyList<ConformanceOutput> results;
            try { results = Conformance.Run(lm.Model, runs, steps, parse.GetValue(batched)); }
            catch (ArgumentException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 2;
            }

            Write(parse.GetValue(output)!, input, inputCases, runs, results, steps, LanguageModel.DTypeName(lm.Model.DType));
            return Compare(input, inputCases, results, steps, parse.InvocationConfiguration.Output);
        });
        return command;
    }

    static void Write(string path, JsonObject input, List<JsonObject> cases, List<(IReadOnlyList<int> Ids, IReadOnlyList<PrunedHead> Heads)> runs,
        IReadOnlyList<ConformanceOutput> results, int steps, string dtype)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteString("schema", input["schema"]?.GetValue<string>() ?? "head-pruning-golden/1");
        w.WriteString("reference", "Sprint.Inference (TorchSharp)");
        w.WriteString("compute_dtype", dtype);
        w.WriteStartObject("greedy");
        w.WriteNumber("max_new_tokens", steps);
        w.WriteString("tie_break", "lowest token id");
        w.WriteEndObject();
        w.WriteStartArray("cases");
        for (int i = 0; i < cases.Count; i++)
        {
            w.WriteStartObject();
            if (cases[i]["name"] is { } name) w.WriteString("name", name.GetValue<string>());
            w.WriteStartArray("input_ids");
            foreach (var id in runs[i].Ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteStartArray("pruned_heads");
            foreach (var h in runs[i].Heads) { w.WriteStartArray(); w.WriteNumberValue(h.Layer); w.WriteNumberValue(h.Head); w.WriteEndArray(); }
            w.WriteEndArray();
            w.WriteStartArray("logits");
            foreach (var row in results[i].Logits) WriteFloats(w, row);
            w.WriteEndArray();
            w.WritePropertyName("last_logits");
            WriteFloats(w, results[i].LastLogits);
            w.WriteStartArray("greedy_tokens");
            foreach (var t in results[i].GreedyTokens) w.WriteNumberValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    // Utf8JsonWriter writes float32 in shortest round-trip form, as golden.json does.
    static void WriteFloats(Utf8JsonWriter w, float[] values)
    {
        w.WriteStartArray();
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    static int Compare(JsonObject input, List<JsonObject> cases, IReadOnlyList<ConformanceOutput> results, int steps, TextWriter output)
    {
        double tolerance = input["tolerance"]?["logits_max_abs"]?.GetValue<double>() ?? 1e-4;
        bool compared = false, ok = true;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            double worst = 0;
            if (c["last_logits"] is JsonArray last) worst = Math.Max(worst, MaxDiff(last, results[i].LastLogits));
            if (c["logits"] is JsonArray all)
                for (int p = 0; p < all.Count; p++) worst = Math.Max(worst, MaxDiff(all[p]!.AsArray(), results[i].Logits[p]));
            string tokens = "";
            if (c["greedy_tokens"] is JsonArray expected)
            {
                var want = expected.Select(x => x!.GetValue<int>()).Take(steps).ToArray();
                int agree = want.Zip(results[i].GreedyTokens).TakeWhile(p => p.First == p.Second).Count();
                tokens = $", greedy {agree}/{want.Length} tokens agree";
                ok &= agree == want.Length;
            }
            if (c["last_logits"] is null && c["greedy_tokens"] is null) continue;
            compared = true;
            ok &= worst <= tolerance;
            output.WriteLine($"{c["name"]?.GetValue<string>() ?? $"case {i}",-28} max |logit diff| {worst:E2}{tokens}");
        }
        if (!compared) return 0;
        output.WriteLine(ok ? $"MATCH (tolerance {tolerance:E0})" : $"MISMATCH (tolerance {tolerance:E0})");
        return ok ? 0 : 1;
    }

    static double MaxDiff(JsonArray expected, float[] actual) =>
        expected.Select((x, j) => Math.Abs(float.Parse(x!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) - (double)actual[j])).Max();
}
