using System.Text.Json.Nodes;
using Sprint.Tests.Shared;

namespace Sprint.Cli.Tests;

/// <summary>
/// The same command in two processes gives the same bytes: every random stream derives from the seed with
/// <see cref="Core.StableSeed"/>, never from .NET's per-process randomised hash codes.
/// </summary>
public sealed class ReproducibilityTests : IDisposable
{
    static readonly string Root = Path.GetFullPath(Path.Combine(Cli.Fixtures, "..", ".."));
    static readonly string Model = Path.Combine(Root, "models", "sprint-tiny-math");
    readonly string dir = Directory.CreateTempSubdirectory("sprint-repro").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Runs the built sprint CLI as a process of its own.</summary>
    static Task<string> Process(params string[] args)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Name;   // Debug or Release
        var dll = Path.Combine(Root, "services", "Sprint.Cli", "bin", configuration, "net10.0", "linux-x64", "sprint.dll");
        return Tool.Run("dotnet", [dll, .. args], Root);
    }

    [Fact(Timeout = 300_000)]
    public async Task Eval_with_random_heads_and_sampling_gives_the_same_rows_in_two_processes()
    {
        await Cli.Run(["data", "synth", "--out", dir, "--seed", "3", "--count", "60"]);
        string[] Args(string candidates) => ["eval", "--model", Model, "--dataset", Path.Combine(dir, "test.jsonl"), "--strategy", "random_heads,sampling",
            "--n", "1,4", "--max-new-tokens", "24", "--seed", "5", "--json", "--threads", "1", "--candidates", Path.Combine(dir, candidates), "--plot", Path.Combine(dir, candidates + ".png")];
        static string Rows(string json) => JsonNode.Parse(json)!["rows"]!.ToJsonString();
        Assert.Equal(Rows(await Process(Args("first.jsonl"))), Rows(await Process(Args("second.jsonl"))));
        Assert.True(new FileInfo(Path.Combine(dir, "first.jsonl.png")).Length > 1000, "the --plot PNG");
        var first = await File.ReadAllTextAsync(Path.Combine(dir, "first.jsonl"));
        Assert.Equal(first, await File.ReadAllTextAsync(Path.Combine(dir, "second.jsonl")));   // every candidate: heads, answers, log-probs
        int questions = File.ReadAllLines(Path.Combine(dir, "test.jsonl")).Length;
        Assert.Equal(questions * 2, first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);   // every test question × 2 strategies
        // Random heads are pruned heads, 4 distinct per question.
        foreach (var line in first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Where(l => (string)l["strategy"]! == "random_heads"))
            Assert.Equal(4, line["candidates"]!.AsArray().Select(c => (string)c!["config"]!).Where(c => c != "none").Distinct().Count());
    }

    [Fact(Timeout = 300_000)]
    public async Task The_first_training_steps_give_the_same_weights_in_two_processes()
    {
        await Cli.Run(["data", "synth", "--out", Path.Combine(dir, "data"), "--seed", "5", "--count", "200"]);
        async Task<byte[]> Train(string name)
        {
            var output = Path.Combine(dir, name);
            await Process("train-lm", "--data", Path.Combine(dir, "data"), "--out", output, "--layers", "1", "--heads", "2", "--kv-heads", "1",
                "--hidden", "16", "--vocab", "280", "--steps", "3", "--batch", "4", "--eval-every", "1000", "--checkpoint-every", "1000", "--seed", "2",
                "--threads", "1");
            return await File.ReadAllBytesAsync(Path.Combine(output, "model.safetensors"));
        }
        Assert.Equal(await Train("a"), await Train("b"));
    }
}
