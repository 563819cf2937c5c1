using System.CommandLine;
using Sprint.Pipeline.Selection;
using Sprint.Selection;

namespace Sprint.Cli;

/// <summary><c>sprint train-selector</c>: the contrastive head selector, trained on a profile.</summary>
static class TrainSelectorCommand
{
    public static Command Create()
    {
        var defaults = new SelectorTrainingOptions();
        var profile = new Option<string>("--profile") { Description = "Profile written by sprint profile", Required = true };
        var output = new Option<string>("--out") { Description = "Weights file (X.safetensors); metadata goes to X.json", Required = true };
        var dim = new Option<int>("--dim") { DefaultValueFactory = _ => defaults.Dim };
        var tau = new Option<double>("--tau") { DefaultValueFactory = _ => defaults.Tau };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaults.Epochs };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => defaults.Seed };
        var command = new Command("train-selector", "Train the question → pruned-head selector with a multi-positive InfoNCE loss")
        {
            profile, output, dim, tau, epochs, seed,
        };
        command.SetAction(parse =>
        {
            var log = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!File.Exists(parse.GetValue(profile)))
            {
                error.WriteLine($"error: {parse.GetValue(profile)} not found");
                return 2;
            }
            if (parse.GetValue(tau) <= 0 || parse.GetValue(dim) < 1 || parse.GetValue(epochs) < 1)
            {
                error.WriteLine("error: --tau must be > 0, --dim and --epochs at least 1");
                return 2;
            }
            try
            {
                var data = Profile.Load(parse.GetValue(profile)!);
                var options = defaults with { Dim = parse.GetValue(dim), Tau = parse.GetValue(tau), Epochs = parse.GetValue(epochs), Seed = parse.GetValue(seed) };
                var (artifact, report) = SelectorTrainer.Train(data, options, log);
                using (artifact) artifact.Save(parse.GetValue(output)!);
                log.WriteLine($"best dev loss {report.BestDevLoss:F4} at epoch {report.BestEpoch}");
                log.WriteLine($"{"k",3} {"selector",9} {"random",8} {"global",8}   (dev questions with a correct configuration among the top k)");
                foreach (var h in report.HitRates)
                    log.WriteLine($"{h.K,3} {h.Selector,9:P1} {h.Random,8:P1} {h.GlobalTop,8:P1}");
                log.WriteLine($"selector written to {parse.GetValue(output)} and {Path.ChangeExtension(parse.GetValue(output)!, ".json")}");
                return 0;
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or System.Text.Json.JsonException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
