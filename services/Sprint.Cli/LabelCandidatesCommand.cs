using System.CommandLine;
using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Problems;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint label-candidates</c>: the verifier's training data. Candidates of training questions decoded as the
/// gateway serves them (the same planner, seeds and decoding as a Solve with that question, n, strategy and seed),
/// each labelled by its graded final answer and its step check, in the candidate log's format
/// (<see cref="CandidateLog"/>). Always resumable: questions already in the file are not decoded again.
/// </summary>
static class LabelCandidatesCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<string>("--data") { Description = "Training questions (JSONL)", DefaultValueFactory = _ => "data/synthetic/train.jsonl" };
        var skip = new Option<int>("--skip") { Description = "Questions to leave out at the start (the selector's profile used the first 4,000)", DefaultValueFactory = _ => 4000 };
        var count = new Option<int>("--count") { Description = "Questions to decode", DefaultValueFactory = _ => 3000 };
        var strategy = new Option<string>("--strategy") { Description = "Comma list of sprint, sampling, random_heads, global_top", DefaultValueFactory = _ => "sprint,sampling" };
        var n = new Option<int>("--n") { Description = "Candidates per question and strategy", DefaultValueFactory = _ => 8 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the plans (as Solve's)", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "The labelled candidate log (appended to; resumed from)", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 96 };
        var batch = new Option<int>("--batch") { Description = "Sequences decoded together", DefaultValueFactory = _ => 32 };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var command = new Command("label-candidates", "Decode candidates of training questions as Solve does and label each by its final answer and step check (the verifier's training data)")
        {
            model, data, skip, count, strategy, n, seed, output, maxNew, batch, dtype, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            IReadOnlyList<Strategy> strategies;
            try
            {
                strategies = parse.GetValue(strategy)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => StrategyNames.Parse(x, "--strategy")).Distinct().ToList();
                if (strategies.Contains(Strategy.Greedy)) throw new ArgumentException("--strategy: greedy decodes one candidate; use sprint, sampling, random_heads or global_top");
                if (parse.GetValue(n) < 1) throw new ArgumentException("--n must be at least 1");
                if (parse.GetValue(skip) < 0 || parse.GetValue(count) < 1) throw new ArgumentException("--skip must be >= 0 and --count at least 1");
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var path = parse.GetValue(data)!;
            if (!File.Exists(path))
            {
                error.WriteLine($"error: {path} not found (sprint data synth --out data/synthetic writes it)");
                return 2;
            }
            var problems = ProblemFiles.Load(path).Skip(parse.GetValue(skip)).Take(parse.GetValue(count)).ToList();
            if (problems.Count == 0)
            {
                error.WriteLine($"error: {path} has no questions after the first {parse.GetValue(skip)}");
                return 2;
            }
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            var selectorFile = Path.Combine(lm.Directory, "selector.safetensors");
            using var selector = File.Exists(selectorFile) ? Sprint.Selection.SelectorArtifact.Load(selectorFile) : null;
            var settings = new BestOfNSettings
            {
                Strategies = strategies,
                MaxN = parse.GetValue(n),
                Seed = parse.GetValue(seed),
                Decoding = new EvalSettings { BatchSize = parse.GetValue(batch), MaxNewTokens = parse.GetValue(maxNew) },
            };
            var logPath = parse.GetValue(output)!;
            if (Path.GetDirectoryName(Path.GetFullPath(logPath)) is { } folder) Directory.CreateDirectory(folder);
            var done = CandidateLog.Load(logPath, problems);
            using var log = new CandidateLog(logPath, append: true);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<QuestionResult> results;
            try
            {
                results = await new BestOfNEvaluator(lm, selector, settings, error).RunAsync(problems, ct, done, log.Write);
            }
            catch (Exception e) when (e is ArgumentException or InvalidFieldException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var candidates = results.SelectMany(r => r.Candidates).ToList();
            parse.InvocationConfiguration.Output.WriteLine(
                $"{problems.Count} questions × {strategies.Count} strategies × {settings.MaxN} = {candidates.Count} candidates in {logPath}: " +
                $"{candidates.Count(c => c.Correct)} right ({100.0 * candidates.Count(c => c.Correct) / Math.Max(1, candidates.Count):F1} %), " +
                $"{candidates.Count(c => c.Check is { FailedSteps: > 0 })} with a failed step; {clock.Elapsed.TotalSeconds:F0} s");
            return 0;
        });
        return command;
    }
}
