using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Inference;
using Sprint.Inference.Checkpoint;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using Sprint.Problems;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sprint.Training;

/// <summary>
/// Trains a small Qwen2 model from scratch on worked solutions (<c>sprint data synth</c> output): each example is
/// the ChatML prompt (no system turn) followed by the solution and <c>&lt;|im_end|&gt;</c>, with the loss on the
/// solution tokens only. AdamW, linear warm-up then cosine decay, gradient clipping; batch b of step s is drawn from
/// a generator seeded by (seed, s), so a resumed run sees the same data as an uninterrupted one. Checkpoints (model,
/// optimizer, step) go to <c>OUT/checkpoint</c>; the result is a Hugging Face folder.
/// </summary>
public sealed class LmTrainer(LmTrainingOptions o, TextWriter log)
{
    const string EndOfText = ChatPrompt.EndOfText, ImStart = ChatPrompt.ImStart, ImEnd = ChatPrompt.ImEnd;
    const int Ignore = -100;

    string CheckpointDir => Path.Combine(o.OutDir, "checkpoint");

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var train = ProblemFiles.Load(Path.Combine(o.DataDir, "train.jsonl"));
        var dev = ProblemFiles.Load(Path.Combine(o.DataDir, "dev.jsonl")).Take(o.EvalCount).ToList();
        Directory.CreateDirectory(o.OutDir);
        var tokenizer = PrepareTokenizer(train);
        var config = ModelConfigFor(tokenizer);
        WriteModelFiles(config, tokenizer);

        var examples = train.Select(p => Encode(tokenizer, p)).ToList();
        log.WriteLine($"{examples.Count} training examples, {examples.Average(e => e.Ids.Length):F0} tokens on average, vocabulary {config.VocabSize}");
        using var model = new CausalLM(config);
        model.InitializeWeights(o.Seed);
        long parameters = model.parameters().Sum(p => p.numel());
        log.WriteLine($"model: {o.Layers} layers, {o.Heads} heads ({o.KvHeads} kv), hidden {o.Hidden}, intermediate {o.IntermediateSize}: {parameters:N0} parameters");

        using var optimizer = optim.AdamW(model.parameters(), o.LearningRate, 0.9, 0.95, 1e-8, o.WeightDecay);
        int start = 0;
        if (o.Resume && File.Exists(Path.Combine(CheckpointDir, "trainer_state.json")))
        {
            start = LoadCheckpoint(model, optimizer);
            log.WriteLine($"resumed at step {start}");
        }

        var eos = new[] { tokenizer.TokenId(ImEnd)!.Value, tokenizer.TokenId(EndOfText)!.Value };
        var clock = Stopwatch.StartNew();
        long tokensSeen = 0;
        double ema = double.NaN;
        int step = start;
        int end = Math.Min(o.Steps, o.StopAfterStep ?? o.Steps);
        for (; step < end && !ct.IsCancellationRequested; step++)
        {
            foreach (var g in optimizer.ParamGroups) g.LearningRate = LearningRate(step);
            var batch = SampleBatch(examples, step);
            double loss;
            using (var scope = NewDisposeScope())
            {
                model.train();
                optimizer.zero_grad();
                var (ids, labels) = Pad(batch);
                long t = ids.shape[1];
                var positions = arange(t).unsqueeze(0).expand(ids.shape[0], t);
                var causal = ones(t, t, ScalarType.Bool).tril().view(1, 1, t, t);
                var logits = model.Logits(model.Forward(ids, positions, causal));
                var lossT = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), labels.view(-1), ignore_index: Ignore);
                lossT.backward();
                nn.utils.clip_grad_norm_(model.parameters(), o.ClipNorm);
                optimizer.step();
                loss = lossT.item<float>();
                tokensSeen += ids.numel();
            }
            ema = double.IsNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
            int done = step + 1;
            if (done % o.LogEvery == 0 || done == o.Steps)
            {
                double rate = tokensSeen / clock.Elapsed.TotalSeconds;
                var eta = TimeSpan.FromSeconds((o.Steps - done) * clock.Elapsed.TotalSeconds / (done - start));
                log.WriteLine($"step {done}/{o.Steps}  loss {ema:F4}  lr {LearningRate(step):E2}  {rate:F0} tokens/s  elapsed {clock.Elapsed:hh\\:mm\\:ss}  ETA {eta:hh\\:mm\\:ss}");
            }
            if (done % o.CheckpointEvery == 0) SaveCheckpoint(model, optimizer, done);
            if (done % o.EvalEvery == 0 || done == o.Steps) await DevAccuracy(model, tokenizer, eos, dev, done, ct);
        }
        SaveCheckpoint(model, optimizer, step);
        SaveWeights(model, Path.Combine(o.OutDir, "model.safetensors"));
        log.WriteLine(step < o.Steps
            ? $"stopped at step {step}: checkpoint saved, continue with --resume"
            : $"done: {step} steps in {clock.Elapsed:hh\\:mm\\:ss}; model written to {o.OutDir}");
        return ct.IsCancellationRequested ? 130 : 0;
    }

    double LearningRate(int step)
    {
        if (step < o.WarmupSteps) return o.LearningRate * (step + 1) / o.WarmupSteps;
        double progress = (double)(step - o.WarmupSteps) / Math.Max(1, o.Steps - o.WarmupSteps);
        double min = o.LearningRate * o.MinLearningRateRatio;
        return min + (o.LearningRate - min) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }

    HfTokenizer PrepareTokenizer(IReadOnlyList<Problem> train)
    {
        if (!File.Exists(Path.Combine(o.OutDir, "tokenizer.json")))
        {
            var bpe = BpeTrainer.Train(train.SelectMany(p => new[] { p.Question, p.Solution ?? p.Answer }), o.VocabSize, [EndOfText, ImStart, ImEnd]);
            BpeTrainer.Save(bpe, o.OutDir, ImEnd, EndOfText);
            log.WriteLine($"trained a byte-level BPE tokenizer: {bpe.Vocabulary.Count} tokens + {bpe.SpecialTokens.Count} special");
        }
        return HfTokenizer.Load(o.OutDir);
    }

    ModelConfig ModelConfigFor(HfTokenizer tokenizer) => new()
    {
        ModelType = "qwen2",
        VocabSize = tokenizer.Size,
        HiddenSize = o.Hidden,
        IntermediateSize = o.IntermediateSize,
        NumLayers = o.Layers,
        NumHeads = o.Heads,
        NumKeyValueHeads = o.KvHeads,
        HeadDim = o.Hidden / o.Heads,
        RopeTheta = 10000,
        RmsNormEps = 1e-6,
        TieWordEmbeddings = true,
        QkvBias = true,
        OutputBias = false,
        MlpBias = false,
        MaxPositionEmbeddings = o.MaxPositions,
        EosTokenIds = [tokenizer.TokenId(ImEnd)!.Value],
        BosTokenId = tokenizer.TokenId(EndOfText),
    };

    void WriteModelFiles(ModelConfig c, HfTokenizer tokenizer)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen2ForCausalLM"),
            ["model_type"] = "qwen2",
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = c.BosTokenId,
            ["eos_token_id"] = c.EosTokenIds[0],
            ["hidden_act"] = "silu",
            ["hidden_size"] = c.HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = c.IntermediateSize,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["max_window_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_key_value_heads"] = c.NumKeyValueHeads,
            ["rms_norm_eps"] = c.RmsNormEps,
            ["rope_scaling"] = null,
            ["rope_theta"] = c.RopeTheta,
            ["sliding_window"] = null,
            ["tie_word_embeddings"] = true,
            ["torch_dtype"] = "float32",
            ["use_cache"] = true,
            ["use_sliding_window"] = false,
            ["vocab_size"] = c.VocabSize,
        };
        var indented = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(o.OutDir, "config.json"), config.ToJsonString(indented));
        var generation = new JsonObject
        {
            ["bos_token_id"] = c.BosTokenId,
            ["eos_token_id"] = new JsonArray(tokenizer.TokenId(ImEnd), tokenizer.TokenId(EndOfText)),
            ["pad_token_id"] = tokenizer.TokenId(EndOfText),
            ["do_sample"] = false,
        };
        File.WriteAllText(Path.Combine(o.OutDir, "generation_config.json"), generation.ToJsonString(indented));
    }

    sealed record Example(int[] Ids, int PromptLength);

    static Example Encode(HfTokenizer tokenizer, Problem p)
    {
        var prompt = tokenizer.Encode(ChatPrompt.Format(p.Question, systemPrompt: null));
        var target = tokenizer.Encode((p.Solution ?? $"\\boxed{{{p.Answer}}}") + ImEnd);
        return new Example([.. prompt, .. target], prompt.Count);
    }

    List<Example> SampleBatch(List<Example> examples, int step)
    {
        var random = StableSeed.Stream((ulong)o.Seed, "train_batch", index: step);   // the same batches in every process, so a resumed run equals an uninterrupted one
        return Enumerable.Range(0, o.Batch).Select(_ => examples[random.Next(examples.Count)]).ToList();
    }

    /// <summary>Right-padded inputs and next-token labels (prompt and padding ignored).</summary>
    static (Tensor Ids, Tensor Labels) Pad(List<Example> batch)
    {
        int t = batch.Max(e => e.Ids.Length) - 1;
        var ids = new long[batch.Count * t];
        var labels = Enumerable.Repeat((long)Ignore, batch.Count * t).ToArray();
        for (int b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            for (int i = 0; i < e.Ids.Length - 1; i++)
            {
                ids[b * t + i] = e.Ids[i];
                if (i + 1 >= e.PromptLength) labels[b * t + i] = e.Ids[i + 1];
            }
        }
        return (tensor(ids).view(batch.Count, t), tensor(labels).view(batch.Count, t));
    }

    async Task DevAccuracy(CausalLM model, HfTokenizer tokenizer, int[] eos, List<Problem> dev, int step, CancellationToken ct)
    {
        if (dev.Count == 0) return;
        model.eval();
        using var lm = LanguageModel.Wrap(o.OutDir, model, tokenizer, eos);
        var answers = await GreedyEvaluator.RunAsync(lm, dev, new EvalSettings { BatchSize = 32, MaxNewTokens = 128 }, ct: ct);
        var report = AccuracyReport.From(answers);
        var levels = string.Join("  ", report.ByLevel.Select(kv => $"L{kv.Key} {100.0 * kv.Value.Correct / kv.Value.Count:F0}%"));
        log.WriteLine($"step {step}: dev greedy accuracy {100 * report.Accuracy:F1}% ({report.Correct}/{report.Count})  {levels}");
    }

    static void SaveWeights(CausalLM model, string path)
    {
        var tmp = path + ".tmp";
        Safetensors.SaveStateDict(tmp, model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
        File.Move(tmp, path, overwrite: true);
    }

    void SaveCheckpoint(CausalLM model, optim.Optimizer optimizer, int step)
    {
        Directory.CreateDirectory(CheckpointDir);
        SaveWeights(model, Path.Combine(CheckpointDir, "model.safetensors"));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).save_py(Path.Combine(CheckpointDir, "optimizer.pt"));
        File.WriteAllText(Path.Combine(CheckpointDir, "trainer_state.json"), new JsonObject { ["step"] = step, ["seed"] = o.Seed }.ToJsonString());
    }

    int LoadCheckpoint(CausalLM model, optim.Optimizer optimizer)
    {
        CheckpointLoader.Load(model, CheckpointDir);
        ((TorchSharp.Modules.OptimizerHelper)optimizer).load_py(Path.Combine(CheckpointDir, "optimizer.pt"));
        return JsonNode.Parse(File.ReadAllText(Path.Combine(CheckpointDir, "trainer_state.json")))!["step"]!.GetValue<int>();
    }
}
