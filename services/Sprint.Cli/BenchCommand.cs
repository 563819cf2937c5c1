using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Generation;
using Sprint.Inference.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint bench decode</c>: decode throughput per batch size, SPRINT's 8 pruned candidates decoded together
/// versus one after another, what the matrix products alone cost at batch 1, and peak memory.
/// </summary>
static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,2,4,8,16" };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens decoded per row", DefaultValueFactory = _ => 64 };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length per row (random ids, fixed seed)", DefaultValueFactory = _ => 32 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement; the median is reported", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var loadFormat = CommonOptions.LoadFormat();
        var decode = new Command("decode", "Decode throughput, batched vs sequential pruned candidates, matmul floor, peak memory")
        {
            model, batches, newTokens, promptTokens, repeats, json, dtype, threads, loadFormat,
        };
        decode.SetAction(async parse =>
        {
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads, loadFormat);
            if (lm is null) return 2;
            var sizes = CommonOptions.ParseIntList(parse.GetValue(batches)!, "--batch");
            int steps = parse.GetValue(newTokens), promptLength = parse.GetValue(promptTokens), runs = Math.Max(1, parse.GetValue(repeats));
            if (promptLength + steps > lm.Config.MaxPositionEmbeddings)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: --prompt-tokens + --new-tokens exceeds the model's {lm.Config.MaxPositionEmbeddings} positions");
                return 2;
            }
            var prompt = RandomPrompt(lm, promptLength, seed: 1234);
            var log = parse.GetValue(json) ? TextWriter.Null : parse.InvocationConfiguration.Output;
            log.WriteLine($"model {lm.Id} ({LanguageModel.DTypeName(lm.Model.DType)}), {Machine()}, prompt {promptLength} tokens, {steps} new tokens per row, median of {runs}");

            using (inference_mode()) // warm-up: JIT, allocator, libtorch kernels
                foreach (var b in sizes) DecodeSteps(lm, Enumerable.Repeat(prompt, b).ToList(), Enumerable.Repeat((IReadOnlyList<PrunedHead>)[], b).ToList(), steps);
            var perBatch = new List<object>();
            log.WriteLine($"{"batch",5} {"ms/step",9} {"tokens/s",10}");
            foreach (var b in sizes)
            {
                var heads = Enumerable.Range(0, b).Select(i => (IReadOnlyList<PrunedHead>)[Candidate(lm, i)]).ToList();
                var prompts = Enumerable.Range(0, b).Select(i => RandomPrompt(lm, promptLength, seed: 1000 + i)).ToList();
                double seconds = Median(Enumerable.Range(0, runs).Select(_ => { using var __ = inference_mode(); return DecodeSteps(lm, prompts, heads, steps); }));
                double msPerStep = seconds * 1000 / steps, tokensPerSecond = b * steps / seconds;
                log.WriteLine($"{b,5} {msPerStep,9:F2} {tokensPerSecond,10:F1}");
                perBatch.Add(new { batch = b, ms_per_step = Math.Round(msPerStep, 3), tokens_per_second = Math.Round(tokensPerSecond, 1) });
            }

            double floor;
            using (inference_mode()) floor = Median(Enumerable.Range(0, runs).Select(_ => MatmulSeconds(lm, steps))) * 1000 / steps;
            double batch1 = Median(Enumerable.Range(0, runs).Select(_ => { using var __ = inference_mode(); return DecodeSteps(lm, [prompt], [[]], steps); })) * 1000 / steps;
            log.WriteLine($"batch 1: {batch1:F2} ms/step; the matrix products alone (q,k,v,o,gate,up,down per layer + lm_head): {floor:F2} ms/step ({100 * floor / batch1:F0} %)");

            var (together, oneByOne) = await Candidates(lm, prompt, steps, runs);
            log.WriteLine($"8 candidates, 8 different pruned heads, {steps} tokens each: together {together:F3} s, one after another {oneByOne:F3} s, speed-up {oneByOne / together:F2}x");
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            log.WriteLine($"peak working set {peak / (1024.0 * 1024):F0} MiB");

            if (parse.GetValue(json))
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(new
                {
                    model = lm.Id,
                    dtype = LanguageModel.DTypeName(lm.Model.DType),
                    machine = Machine(),
                    prompt_tokens = promptLength,
                    new_tokens = steps,
                    batches = perBatch,
                    batch1_ms_per_step = Math.Round(batch1, 3),
                    batch1_matmul_ms_per_step = Math.Round(floor, 3),
                    candidates_8 = new { together_seconds = Math.Round(together, 4), sequential_seconds = Math.Round(oneByOne, 4), speedup = Math.Round(oneByOne / together, 2) },
                    peak_working_set_bytes = peak,
                }));
            return 0;
        });
        return new Command("bench", "Benchmarks that print numbers") { decode, LoadBenchmark.Create(), RobustnessBenchmarks.Fuzz(), RobustnessBenchmarks.Soak() };
    }

    /// <summary>Prefill, then <paramref name="steps"/> greedy steps with the KV cache; returns the decode steps' seconds.</summary>
    static double DecodeSteps(LanguageModel lm, IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<PrunedHead>> heads, int steps)
    {
        var (batch, logits) = DecodeBatch.Prefill(lm.Model, prompts, heads, steps);
        using var _ = batch;
        int[] first;
        using (logits)
        using (var ids = logits.argmax(-1))
            first = ids.data<long>().Select(x => (int)x).ToArray();
        var clock = Stopwatch.StartNew();
        batch.Greedy(first, steps - 1);
        return clock.Elapsed.TotalSeconds * steps / Math.Max(1, steps - 1);
    }

    /// <summary>The same matrix products a batch-1 decode step runs, on the model's own weights.</summary>
    static double MatmulSeconds(LanguageModel lm, int steps)
    {
        var weights = lm.Model.named_parameters().Where(p => p.name.EndsWith("proj.weight", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        weights.Add(lm.Model.named_parameters().First(p => p.name is "lm_head.weight" or "model.embed_tokens.weight").parameter);
        var inputs = weights.Select(w => randn(1, 1, w.shape[1], dtype: w.dtype)).ToList();
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
            for (int i = 0; i < weights.Count; i++)
                nn.functional.linear(inputs[i], weights[i]).Dispose();
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var x in inputs) x.Dispose();
        return seconds;
    }

    static async Task<(double Together, double OneByOne)> Candidates(LanguageModel lm, IReadOnlyList<int> prompt, int steps, int runs)
    {
        using var engine = new BatchScheduler(lm);
        var requests = Enumerable.Range(0, 8).Select(i => new GenerationRequest
        {
            PromptIds = prompt,
            PrunedHeads = [Candidate(lm, i)],
            Stopping = new StoppingCriteria { MaxNewTokens = steps, IgnoreEos = true },
        }).ToList();
        async Task Drain(GenerationRequest r) { await foreach (var _ in engine.Submit(r)) { } }
        var together = new List<double>();
        var oneByOne = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(requests.Select(Drain));
            together.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            foreach (var r in requests) await Drain(r);
            oneByOne.Add(clock.Elapsed.TotalSeconds);
        }
        return (Median(together), Median(oneByOne));
    }

    /// <summary>The i-th of a spread of (layer, head) configurations.</summary>
    static PrunedHead Candidate(LanguageModel lm, int i) =>
        new(i % lm.Config.NumLayers, (i * 3 + i / lm.Config.NumLayers) % lm.Config.NumHeads);

    static IReadOnlyList<int> RandomPrompt(LanguageModel lm, int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => random.Next(lm.Config.VocabSize)).ToArray();
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{cpu ?? "unknown CPU"}, {Environment.ProcessorCount} cores, {get_num_threads()} torch threads";
    }
}
