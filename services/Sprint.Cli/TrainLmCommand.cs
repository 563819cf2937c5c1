using System.CommandLine;
using Sprint.Training;
using TorchSharp;

namespace Sprint.Cli;

/// <summary><c>sprint train-lm</c>: trains the small default model from scratch.</summary>
static class TrainLmCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Folder with train.jsonl and dev.jsonl (sprint data synth)", Required = true };
        var output = new Option<string>("--out") { Description = "Model folder to write (Hugging Face layout)", Required = true };
        var defaults = new LmTrainingOptions { DataDir = "", OutDir = "" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => defaults.Layers };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => defaults.Heads };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => defaults.KvHeads };
        var hidden = new Option<int>("--hidden") { DefaultValueFactory = _ => defaults.Hidden };
        var vocab = new Option<int>("--vocab") { Description = "Tokenizer size, special tokens included", DefaultValueFactory = _ => defaults.VocabSize };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => defaults.Steps };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.Batch };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => defaults.Seed };
        var evalEvery = new Option<int>("--eval-every") { Description = "Dev-set greedy accuracy every K steps", DefaultValueFactory = _ => defaults.EvalEvery };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => defaults.CheckpointEvery };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/checkpoint" };
        var stopAfter = new Option<int?>("--stop-after") { Description = "Stop after this step with a checkpoint (the schedule still spans --steps)" };
        var threads = new Option<int>("--threads") { Description = "libtorch threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("train-lm", "Train a small Qwen2 model on worked solutions and save it in Hugging Face layout")
        {
            data, output, layers, heads, kvHeads, hidden, vocab, steps, batch, lr, seed, evalEvery, checkpointEvery, resume, stopAfter, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new LmTrainingOptions
            {
                DataDir = parse.GetValue(data)!,
                OutDir = parse.GetValue(output)!,
                Layers = parse.GetValue(layers),
                Heads = parse.GetValue(heads),
                KvHeads = parse.GetValue(kvHeads),
                Hidden = parse.GetValue(hidden),
                VocabSize = parse.GetValue(vocab),
                Steps = parse.GetValue(steps),
                Batch = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                EvalEvery = parse.GetValue(evalEvery),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Resume = parse.GetValue(resume),
                StopAfterStep = parse.GetValue(stopAfter),
            };
            var error = parse.InvocationConfiguration.Error;
            if (!File.Exists(Path.Combine(options.DataDir, "train.jsonl")))
            {
                error.WriteLine($"error: {options.DataDir}/train.jsonl not found (run sprint data synth)");
                return 2;
            }
            if (options.Hidden % options.Heads != 0 || options.Heads % options.KvHeads != 0 || options.Hidden / options.Heads % 2 != 0)
            {
                error.WriteLine("error: --hidden must be a multiple of --heads with an even head size, and --heads a multiple of --kv-heads");
                return 2;
            }
            torch.set_num_threads(Math.Max(1, parse.GetValue(threads)));
            torch.manual_seed(options.Seed);
            return await new LmTrainer(options, parse.InvocationConfiguration.Output).RunAsync(ct);
        });
        return command;
    }
}
