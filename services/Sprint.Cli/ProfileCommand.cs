using System.CommandLine;
using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Pipeline.Profiling;
using Sprint.Problems;

namespace Sprint.Cli;

/// <summary><c>sprint profile</c>: the correctness matrix of questions × head configurations.</summary>
static class ProfileCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<string>("--data") { Description = "Questions (JSONL: synthetic, GSM8K or MATH500)", Required = true };
        var output = new Option<string>("--out") { Description = "Profile to write (JSONL)", Required = true };
        var layers = new Option<string?>("--layers") { Description = "Profile only layers A-B (0-based, inclusive), e.g. 2-3" };
        var limit = new Option<int?>("--limit") { Description = "The first N questions only" };
        var resume = new Option<bool>("--resume") { Description = "Skip the questions already in --out" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { Description = "Sequences decoded together", DefaultValueFactory = _ => 32 };
        var system = new Option<string?>("--system") { Description = "System prompt (default: none)" };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var command = new Command("profile", "Decode every question under every pruned-head configuration and grade it")
        {
            model, data, output, layers, limit, resume, maxNew, batch, system, dtype, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            (int, int)? range = null;
            if (parse.GetValue(layers) is { } text)
            {
                var parts = text.Split('-');
                if (parts.Length != 2 || !int.TryParse(parts[0], out var a) || !int.TryParse(parts[1], out var b) || a > b)
                {
                    error.WriteLine($"error: --layers '{text}' is not a range A-B");
                    return 2;
                }
                range = (a, b);
            }
            if (!File.Exists(parse.GetValue(data)))
            {
                error.WriteLine($"error: {parse.GetValue(data)} not found");
                return 2;
            }
            IReadOnlyList<Problem> problems = ProblemFiles.Load(parse.GetValue(data)!);
            if (parse.GetValue(limit) is { } n) problems = problems.Take(n).ToList();
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            if (range is { } r && (r.Item1 < 0 || r.Item2 >= lm.Config.NumLayers))
            {
                error.WriteLine($"error: --layers must lie within 0-{lm.Config.NumLayers - 1}");
                return 2;
            }
            var settings = new EvalSettings { BatchSize = parse.GetValue(batch), MaxNewTokens = parse.GetValue(maxNew), SystemPrompt = parse.GetValue(system) };
            try
            {
                await new HeadProfiler(lm, HeadConfig.All(lm.Config.Shape, range), settings, parse.InvocationConfiguration.Output)
                    .RunAsync(problems, parse.GetValue(output)!, parse.GetValue(resume), ct);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            return 0;
        });
        return command;
    }
}
