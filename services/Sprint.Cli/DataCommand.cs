using System.CommandLine;
using Sprint.Problems;

namespace Sprint.Cli;

/// <summary><c>sprint data synth</c>: the generated word-problem set with its train/dev/test splits.</summary>
static class DataCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for train.jsonl, dev.jsonl, test.jsonl", Required = true };
        var seed = new Option<int>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => 1 };
        var count = new Option<int>("--count") { Description = "Problems in all (levels 1-5 in turn; 80/10/10 split)", DefaultValueFactory = _ => 20000 };
        var synth = new Command("synth", "Generate GSM8K-style multi-step arithmetic word problems with worked solutions") { output, seed, count };
        synth.SetAction(parse =>
        {
            int n = parse.GetValue(count);
            if (n < 10)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: --count must be at least 10");
                return 2;
            }
            var dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            var (train, dev, test) = SyntheticProblems.Split(SyntheticProblems.Generate(parse.GetValue(seed), n));
            ProblemFiles.Write(Path.Combine(dir, "train.jsonl"), train);
            ProblemFiles.Write(Path.Combine(dir, "dev.jsonl"), dev);
            ProblemFiles.Write(Path.Combine(dir, "test.jsonl"), test);
            parse.InvocationConfiguration.Output.WriteLine($"{train.Count} train, {dev.Count} dev, {test.Count} test problems written to {dir}");
            return 0;
        });
        return new Command("data", "Datasets") { synth };
    }
}
