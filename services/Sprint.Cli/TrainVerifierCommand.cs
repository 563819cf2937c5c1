using System.CommandLine;
using Sprint.Pipeline.Verification;
using Sprint.Problems;
using Sprint.Verification;

namespace Sprint.Cli;

/// <summary><c>sprint train-verifier</c>: the outcome verifier, trained on the candidates <c>sprint label-candidates</c> wrote.</summary>
static class TrainVerifierCommand
{
    public static Command Create()
    {
        var defaults = new VerifierTrainingOptions();
        var model = CommonOptions.Model();
        var candidates = new Option<string>("--candidates") { Description = "Labelled candidates (sprint label-candidates --out)", Required = true };
        var data = new Option<string>("--data") { Description = "The questions they answer (JSONL)", DefaultValueFactory = _ => "data/synthetic/train.jsonl" };
        var output = new Option<string?>("--out") { Description = "Weights file (default MODEL/verifier.safetensors); metadata goes to X.json" };
        var cache = new Option<string?>("--cache") { Description = "Feature cache, resumed from (default: CANDIDATES.features)" };
        var hidden = new Option<int>("--hidden") { DefaultValueFactory = _ => defaults.HiddenDim };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaults.Epochs };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => defaults.Seed };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var command = new Command("train-verifier", "Train the outcome verifier: P(final answer right | question, candidate text) on the frozen model's states, calibrated on a dev split")
        {
            model, candidates, data, output, cache, hidden, epochs, seed, dtype, threads,
        };
        command.SetAction(parse =>
        {
            var log = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            foreach (var file in new[] { parse.GetValue(candidates)!, parse.GetValue(data)! })
                if (!File.Exists(file))
                {
                    error.WriteLine($"error: {file} not found");
                    return 2;
                }
            if (parse.GetValue(hidden) < 1 || parse.GetValue(epochs) < 1)
            {
                error.WriteLine("error: --hidden and --epochs must be at least 1");
                return 2;
            }
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            var outPath = parse.GetValue(output) ?? Path.Combine(lm.Directory, VerifierArtifact.WeightsFile);
            try
            {
                var problems = ProblemFiles.Load(parse.GetValue(data)!);
                var options = defaults with { HiddenDim = parse.GetValue(hidden), Epochs = parse.GetValue(epochs), Seed = parse.GetValue(seed) };
                var (artifact, r) = VerifierTrainer.Train(new SolutionFeatures(lm), parse.GetValue(candidates)!, problems,
                    parse.GetValue(cache) ?? parse.GetValue(candidates)! + ".features", options, log);
                using (artifact) artifact.Save(outPath);
                log.WriteLine($"best dev loss {r.BestDevLoss:F4} at epoch {r.BestEpoch}; temperature {r.Temperature:F2}");
                log.WriteLine($"dev: AUC {r.DevAuc:F3}, ECE {r.DevEce:F3} (before calibration {r.DevEceBeforeCalibration:F3}); features {r.FeatureSeconds:F0} s, training {r.TrainSeconds:F0} s");
                log.WriteLine($"{"bin",-11} {"count",6} {"predicted",9} {"right",6}   (dev reliability)");
                foreach (var b in r.Reliability)
                    log.WriteLine($"{$"[{b.Low:F1}, {b.High:F1})",-11} {b.Count,6} {b.MeanPredicted,9:F3} {b.ShareRight,6:F3}");
                log.WriteLine($"verifier written to {outPath} and {Path.ChangeExtension(outPath, ".json")}");
                return 0;
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or System.Text.Json.JsonException or Sprint.Core.InvalidFieldException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
