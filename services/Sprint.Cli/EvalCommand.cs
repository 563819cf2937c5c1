using System.CommandLine;
using System.Text.Json;
using Sprint.Answers;
using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Problems;

namespace Sprint.Cli;

/// <summary><c>sprint eval</c>: accuracy of a model on a dataset, overall and per level.</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var dataset = new Option<string>("--dataset")
        {
            Description = "synthetic-test, synthetic-dev (from --data), gsm8k-test, math500 (from --data-root), or a JSONL file",
            Required = true,
        };
        var data = new Option<string>("--data") { Description = "Folder of the synthetic splits", DefaultValueFactory = _ => "data/synthetic" };
        var dataRoot = new Option<string>("--data-root") { Description = "Folder holding gsm8k/test.jsonl and math500/test.jsonl", DefaultValueFactory = _ => "tests/fixtures" };
        var strategy = new Option<string>("--strategy") { Description = "Comma list of sprint, sampling, random_heads, global_top, greedy", DefaultValueFactory = _ => "greedy" };
        var ns = new Option<string?>("--n") { Description = "Comma list of candidate counts N, e.g. 1,2,4,8,16 (best-of-N mode)" };
        var selectorPath = new Option<string?>("--selector") { Description = "Selector weights (default: MODEL/selector.safetensors)" };
        var temperature = new Option<double>("--temperature") { Description = "Temperature of the sampling strategy", DefaultValueFactory = _ => Defaults.SamplingTemperature };
        var prunedTemperature = new Option<double?>("--pruned-temperature") { Description = "Temperature of sprint, random_heads and global_top (default: Solve's, 0.9 for sprint as the paper, greedy for the others; 0: greedy)" };
        var topK = new Option<int?>("--top-k") { Description = "Top-k of every sampled candidate (0: off; default: Solve's, 40 for sprint)" };
        var topP = new Option<double?>("--top-p") { Description = "Top-p of every sampled candidate (1: off; default: Solve's, 0.95 for sprint)" };
        var aggregation = new Option<string>("--aggregation") { Description = "Comma list of majority, verified (the vote among candidates whose written steps hold), weighted (verified, each vote weighing the learned verifier's confidence)", DefaultValueFactory = _ => "majority" };
        var adaptive = new Option<string?>("--adaptive") { Description = "Comma list of adaptive wave policies INITIAL:WAVE:AGREE (e.g. 2:6:1, verified vote) or INITIAL:WAVE:wMARGIN (e.g. 2:6:w0.9, weighted vote), replayed on the decoded candidates" };
        var rejection = new Option<string?>("--rejection") { Description = "Comma list of rejection policies replayed on the decoded candidates: none, stop, replace (stop at the first failed step; replace also starts the plan's next candidate, up to 2N: decode with --n at least 2N), stop!/replace! (stop even the last candidate free of a failed step)" };
        var verifierPath = new Option<string?>("--verifier") { Description = "Learned verifier weights for weighted and wMARGIN (default: MODEL/verifier.safetensors); its features are cached in CANDIDATES.features" };
        var resume = new Option<bool>("--resume") { Description = "Read the questions already in --candidates and decode only the rest (a finished log is re-reported without decoding)" };
        var seed = new Option<ulong>("--seed") { Description = "Fixes sampling, random heads and the bootstrap (the same derivation as Solve's seed)", DefaultValueFactory = _ => 1 };
        var markdown = new Option<string?>("--markdown") { Description = "Write the best-of-N table to this Markdown file" };
        var candidatesPath = new Option<string?>("--candidates") { Description = "Log every decoded candidate to this JSONL file as it goes (one line per question and strategy; --resume reads it back)" };
        var plotPath = new Option<string?>("--plot") { Description = "Write accuracy against N to this PNG file" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate the first N questions only" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => Defaults.MaxNewTokens };
        var batch = new Option<int>("--batch") { Description = "Sequences decoded together", DefaultValueFactory = _ => 32 };
        var system = new Option<string?>("--system") { Description = "System prompt (default: none, as the default model was trained)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();
        var command = new Command("eval", "Evaluate a model's accuracy on a dataset")
        {
            model, dataset, data, dataRoot, strategy, ns, selectorPath, verifierPath, temperature, prunedTemperature, topK, topP, aggregation, adaptive, rejection, resume, seed, markdown,
            candidatesPath, plotPath, limit, maxNew, batch, system, json, dtype, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var output = parse.InvocationConfiguration.Output;
            IReadOnlyList<Strategy> strategies;
            IReadOnlyList<int>? nList;
            IReadOnlyList<Aggregation> aggregations;
            IReadOnlyList<AdaptivePolicy> policies;
            IReadOnlyList<RejectionPolicy> rejections;
            try
            {
                rejections = (parse.GetValue(rejection) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => RejectionPolicy.Parse(x, "--rejection")).Distinct().ToList();
                aggregations = parse.GetValue(aggregation)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => Vote.Parse(x, "--aggregation")).Distinct().ToList();
                policies = (parse.GetValue(adaptive) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(AdaptivePolicy.Parse).ToList();
                if (parse.GetValue(resume) && parse.GetValue(candidatesPath) is null) throw new ArgumentException("--resume needs --candidates FILE");
                strategies = parse.GetValue(strategy)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => StrategyNames.Parse(x, "--strategy")).Distinct().ToList();
                nList = parse.GetValue(ns) is { } nText ? CommonOptions.ParseIntList(nText, "--n") : null;
                if (nList is not null && nList.Any(n => n < 1)) throw new ArgumentException("--n: every N must be at least 1");
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var name = parse.GetValue(dataset)!;
            var path = name switch
            {
                "synthetic-test" => Path.Combine(parse.GetValue(data)!, "test.jsonl"),
                "synthetic-dev" => Path.Combine(parse.GetValue(data)!, "dev.jsonl"),
                "gsm8k-test" => Path.Combine(parse.GetValue(dataRoot)!, "gsm8k", "test.jsonl"),
                "math500" => Path.Combine(parse.GetValue(dataRoot)!, "math500", "test.jsonl"),
                _ => name,
            };
            if (!File.Exists(path))
            {
                error.WriteLine($"error: dataset file {path} not found");
                return 2;
            }
            IReadOnlyList<Problem> problems = ProblemFiles.Load(path);
            if (parse.GetValue(limit) is { } n) problems = problems.Take(n).ToList();
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            bool quiet = parse.GetValue(json);
            if (nList is not null || strategies.Any(x => x != Strategy.Greedy))
                return await BestOfN(parse, lm, problems, name, strategies, nList ?? [1], aggregations, policies, rejections, quiet, ct);
            var progress = new Progress<int>(done =>
            {
                if (!quiet && (done % 50 == 0 || done == problems.Count)) error.WriteLine($"  {done}/{problems.Count} questions");
            });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<GradedAnswer> answers;
            try
            {
                answers = await GreedyEvaluator.RunAsync(lm, problems,
                    new EvalSettings { BatchSize = parse.GetValue(batch), MaxNewTokens = parse.GetValue(maxNew), SystemPrompt = parse.GetValue(system) }, progress, ct);
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var report = AccuracyReport.From(answers);
            if (quiet)
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    model = lm.Id,
                    dataset = name,
                    strategy = "greedy",
                    count = report.Count,
                    correct = report.Correct,
                    accuracy = report.Accuracy,
                    by_level = report.ByLevel.ToDictionary(kv => kv.Key.ToString(), kv => new { count = kv.Value.Count, correct = kv.Value.Correct, accuracy = (double)kv.Value.Correct / kv.Value.Count }),
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                }));
            }
            else
            {
                output.WriteLine($"{lm.Id} on {name}, greedy: {100 * report.Accuracy:F1}% ({report.Correct}/{report.Count}) in {clock.Elapsed.TotalSeconds:F0} s");
                foreach (var (level, (count, correct)) in report.ByLevel)
                    output.WriteLine($"  level {(level == 0 ? "-" : level.ToString())}: {100.0 * correct / count,5:F1}% ({correct}/{count})");
            }
            return 0;
        });
        return command;

        async Task<int> BestOfN(ParseResult parse, Sprint.Inference.LanguageModel lm, IReadOnlyList<Problem> problems, string name,
            IReadOnlyList<Strategy> strategies, IReadOnlyList<int> nList, IReadOnlyList<Aggregation> aggregations, IReadOnlyList<AdaptivePolicy> policies,
            IReadOnlyList<RejectionPolicy> rejections, bool quiet, CancellationToken ct)
        {
            var error = parse.InvocationConfiguration.Error;
            var output = parse.InvocationConfiguration.Output;
            var selectorFile = parse.GetValue(selectorPath) ?? Path.Combine(lm.Directory, "selector.safetensors");
            using var selector = File.Exists(selectorFile) ? Sprint.Selection.SelectorArtifact.Load(selectorFile) : null;
            var settings = new BestOfNSettings
            {
                Strategies = strategies,
                MaxN = nList.Max(n => rejections.Select(r => r.Cap(n)).Append(n).Max()),   // replace: the plan's next candidates too
                Temperature = parse.GetValue(temperature),
                PrunedTemperature = parse.GetValue(prunedTemperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                Decoding = new EvalSettings { BatchSize = parse.GetValue(batch), MaxNewTokens = parse.GetValue(maxNew), SystemPrompt = parse.GetValue(system) },
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<QuestionResult> results;
            var logPath = parse.GetValue(candidatesPath);
            var done = logPath is not null && parse.GetValue(resume) ? CandidateLog.Load(logPath, problems) : null;
            using var log = logPath is null ? null : new CandidateLog(logPath, append: parse.GetValue(resume));
            try
            {
                new SamplingParams { Temperature = settings.PrunedTemperature ?? 0, TopK = settings.TopK ?? 0, TopP = settings.TopP ?? 1.0 }.Validate();
                results = await new BestOfNEvaluator(lm, selector, settings, quiet ? TextWriter.Null : error).RunAsync(problems, ct, done, log is null ? null : log.Write);
            }
            catch (Exception e) when (e is ArgumentException or InvalidFieldException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            object? verifierReport = null;
            var verifierText = "";
            if (aggregations.Contains(Aggregation.VerifierWeighted) || policies.Any(p => p.Margin is not null))
            {
                try
                {
                    using var verifier = Sprint.Verification.OutcomeVerifier.Load(lm, parse.GetValue(verifierPath));
                    results = Sprint.Pipeline.Verification.VerifierScoring.Score(results, verifier,
                        (logPath ?? Path.Combine(Path.GetTempPath(), $"sprint-eval-{Environment.ProcessId}")) + ".features", quiet ? TextWriter.Null : error);
                    var perStrategy = results.GroupBy(r => r.Strategy).Where(g => g.Key != Strategy.Greedy)
                        .Select(g => (Strategy: g.Key.Name(), Quality: Sprint.Pipeline.Verification.VerifierScoring.Quality(g))).ToList();
                    verifierReport = new { name = verifier.Name, strategies = perStrategy.Select(x => new { strategy = x.Strategy, candidates = x.Quality.Candidates, accuracy = x.Quality.Accuracy, auc = x.Quality.Auc, ece = x.Quality.Ece, within_question_auc = x.Quality.WithinQuestionAuc, mixed_questions = x.Quality.MixedQuestions }) };
                    verifierText = "\nThe learned verifier on these candidates (every candidate, duplicates included; accuracy at 0.5; within-question AUC averaged over the questions with both right and wrong candidates):\n\n| strategy | candidates | accuracy % | AUC | ECE | within-question AUC | questions |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
                        string.Concat(perStrategy.Select(x => System.FormattableString.Invariant($"| {x.Strategy} | {x.Quality.Candidates} | {100 * x.Quality.Accuracy:F1} | {x.Quality.Auc:F3} | {x.Quality.Ece:F3} | {x.Quality.WithinQuestionAuc:F3} | {x.Quality.MixedQuestions} |\n")));
                }
                catch (Exception e) when (e is LoadException or FailedPreconditionException or InvalidFieldException or InvalidOperationException)
                {
                    error.WriteLine($"error: {e.Message}");
                    return 2;
                }
            }
            var rows = BestOfNReport.Compute(results, nList.Distinct().Order().ToList(), settings.Seed, aggregations, policies, rejections: rejections);
            var table = BestOfNReport.Markdown(rows) + verifierText;
            if (parse.GetValue(markdown) is { } md) File.WriteAllText(md, table);
            if (parse.GetValue(plotPath) is { } png) EvalPlot.Plot(rows, png, $"{lm.Id} on {name} ({problems.Count} questions)");
            if (quiet)
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    model = lm.Id,
                    dataset = name,
                    questions = problems.Count,
                    seed = settings.Seed,
                    temperature = settings.Temperature,
                    pruned_temperature = settings.PrunedTemperature,
                    top_k = settings.TopK,
                    top_p = settings.TopP,
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                    verifier = verifierReport,
                    rows = rows.Select(r => new
                    {
                        strategy = r.Strategy,
                        n = r.N,
                        aggregation = r.Aggregation.Name(),
                        adaptive = r.Adaptive?.ToString(),
                        rejection = r.Rejection?.ToString() ?? "none",
                        mean_stopped = r.Stopped,
                        mean_generated_tokens = r.MeanGeneratedTokens,
                        mean_candidates = r.MeanCandidates,
                        majority_accuracy = r.Majority.Value,
                        majority_ci95 = new[] { r.Majority.Low, r.Majority.High },
                        pass_at_n = r.PassAtN.Value,
                        pass_at_n_ci95 = new[] { r.PassAtN.Low, r.PassAtN.High },
                        mean_candidate_accuracy = r.MeanCandidateAccuracy,
                        distinct_answers = r.DistinctAnswers,
                        majority_by_level = r.MajorityByLevel.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
                    }),
                }));
            else
                output.Write(table);
            return 0;
        }
    }
}
