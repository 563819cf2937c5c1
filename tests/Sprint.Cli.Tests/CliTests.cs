using System.CommandLine;
using System.Text.Json.Nodes;

namespace Sprint.Cli.Tests;

/// <summary>The <c>sprint</c> commands, invoked in-process with captured output.</summary>
public sealed class CliTests : IDisposable
{
    static readonly string Fixtures = Cli.Fixtures;
    static readonly string GoldenModel = Path.Combine(Fixtures, "golden", "qwen2-tiny-a");
    static readonly string GoldenFile = Path.Combine(GoldenModel, "golden.json");
    readonly string dir = Directory.CreateTempSubdirectory("sprint-cli").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Task<(int Code, string Out, string Err)> Sprint(params string[] args) => Cli.Run(args);

    [Theory(Timeout = 300_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Conformance_matches_the_golden_file_and_writes_the_same_schema(bool batched)
    {
        var outFile = Path.Combine(dir, "out.json");
        var args = new List<string> { "conformance", "--model", GoldenModel, "--cases", GoldenFile, "--out", outFile };
        if (batched) args.Add("--batched");
        var (code, stdout, _) = await Sprint([.. args]);
        Assert.Equal(0, code);
        Assert.Contains("MATCH (tolerance 1E-004)", stdout);

        var written = JsonNode.Parse(File.ReadAllText(outFile))!;
        var golden = JsonNode.Parse(File.ReadAllText(GoldenFile))!;
        Assert.Equal("float32", written["compute_dtype"]!.GetValue<string>());
        var cases = written["cases"]!.AsArray();
        Assert.Equal(9, cases.Count);
        for (int i = 0; i < 9; i++)
        {
            var c = cases[i]!;
            Assert.Equal(golden["cases"]![i]!["greedy_tokens"]!.ToJsonString(), c["greedy_tokens"]!.ToJsonString());
            Assert.Equal(c["input_ids"]!.AsArray().Count, c["logits"]!.AsArray().Count);
            Assert.Equal(384, c["last_logits"]!.AsArray().Count);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Conformance_reports_a_mismatch_with_exit_code_1()
    {
        var golden = JsonNode.Parse(File.ReadAllText(GoldenFile))!;
        var tokens = golden["cases"]![4]!["greedy_tokens"]!.AsArray();
        tokens[10] = (tokens[10]!.GetValue<int>() + 1) % 384;
        var cases = Path.Combine(dir, "tampered.json");
        File.WriteAllText(cases, golden.ToJsonString());
        var (code, stdout, _) = await Sprint("conformance", "--model", GoldenModel, "--cases", cases, "--out", Path.Combine(dir, "o.json"), "--greedy", "24");
        Assert.Equal(1, code);
        Assert.Contains("greedy 10/24 tokens agree", stdout);
        Assert.Contains("MISMATCH", stdout);
    }

    [Fact(Timeout = 300_000)]
    public async Task Generate_streams_the_greedy_continuation_of_a_pruned_model()
    {
        var golden = JsonNode.Parse(File.ReadAllText(GoldenFile))!["cases"]!.AsArray().First(c => c!["name"]!.GetValue<string>() == "short/l1h3")!;
        var prompt = string.Join(",", golden["input_ids"]!.AsArray().Select(x => x!.GetValue<int>()));
        var (code, stdout, stderr) = await Sprint("generate", "--model", GoldenModel, "--prompt-ids", prompt, "--prune", "1:3", "--max-new-tokens", "24");
        Assert.Equal(0, code);
        Assert.Equal(string.Join(",", golden["greedy_tokens"]!.AsArray().Select(x => x!.GetValue<int>())), stdout.Trim());
        Assert.Contains("finish: length", stderr);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(new[] { "--prune", "9:0" }, "pruned_heads[0].layer: 9 is outside 0..3")]
    [InlineData(new[] { "--prune", "x" }, "expected LAYER:HEAD")]
    [InlineData(new[] { "--prompt", "hello" }, "has no tokenizer")]
    [InlineData(new[] { "--max-new-tokens", "600" }, "stopping.max_new_tokens: prompt (3 tokens) + 600 exceeds the model's 512-token context")]
    public async Task Generate_refuses_bad_input_with_a_clear_message(string[] extra, string message)
    {
        string[] args = ["generate", "--model", GoldenModel, .. (extra.Contains("--prompt") ? [] : new[] { "--prompt-ids", "1,2,3" }), .. extra];
        var (code, _, stderr) = await Sprint(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_missing_model_folder_is_reported()
    {
        var (code, _, stderr) = await Sprint("generate", "--model", Path.Combine(dir, "none"), "--prompt-ids", "1");
        Assert.Equal(2, code);
        Assert.Contains("does not exist", stderr);
    }

    [Fact(Timeout = 300_000)]
    public async Task Bench_decode_prints_json_with_every_measurement()
    {
        var (code, stdout, _) = await Sprint("bench", "decode", "--model", GoldenModel, "--batch", "1,2", "--new-tokens", "4", "--repeats", "1", "--json");
        Assert.Equal(0, code);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(2, json["batches"]!.AsArray().Count);
        Assert.True(json["batches"]![1]!["tokens_per_second"]!.GetValue<double>() > 0);
        Assert.True(json["candidates_8"]!["speedup"]!.GetValue<double>() > 0);
        Assert.True(json["batch1_matmul_ms_per_step"]!.GetValue<double>() > 0);
        Assert.True(json["peak_working_set_bytes"]!.GetValue<long>() > 0);
    }
}

/// <summary>sprint auth: a key is never an argument (argv shows in ps and shell history); hash-key reads it from standard input.</summary>
public sealed class AuthCliTests
{
    [Fact(Timeout = 30_000)]
    public async Task Hash_key_reads_the_key_from_standard_input_not_argv()
    {
        var stdin = Console.In;
        try
        {
            Console.SetIn(new StringReader("abc\n"));
            var (code, stdout, _) = await Cli.Run(["auth", "hash-key"]);
            Assert.Equal(0, code);
            Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", stdout.Trim());   // sha256("abc")
            Console.SetIn(new StringReader(""));
            var (empty, _, error) = await Cli.Run(["auth", "hash-key"]);
            Assert.Equal(2, empty);
            Assert.Contains("no key on standard input", error);
            var (argv, _, _) = await Cli.Run(["auth", "hash-key", "abc"]);   // a key in argv is refused
            Assert.NotEqual(0, argv);
        }
        finally { Console.SetIn(stdin); }
    }
}

/// <summary>The offline pipeline's commands on small inputs.</summary>
public sealed class PipelineCliTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-pipeline").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Task<(int Code, string Out, string Err)> Sprint(params string[] args) => Cli.Run(args);

    [Fact(Timeout = 300_000)]
    public async Task Data_synth_writes_three_deterministic_splits()
    {
        var (code, stdout, _) = await Sprint("data", "synth", "--out", dir, "--seed", "4", "--count", "100");
        Assert.Equal(0, code);
        Assert.Contains("80 train, 10 dev, 10 test", stdout);
        var first = File.ReadAllText(Path.Combine(dir, "test.jsonl"));
        await Sprint("data", "synth", "--out", dir, "--seed", "4", "--count", "100");
        Assert.Equal(first, File.ReadAllText(Path.Combine(dir, "test.jsonl")));
        Assert.Equal(10, File.ReadAllLines(Path.Combine(dir, "dev.jsonl")).Length);
    }

    [Fact(Timeout = 300_000)]
    public async Task Eval_refuses_a_missing_dataset_and_a_model_without_tokenizer()
    {
        var (code, _, stderr) = await Sprint("eval", "--model", "x", "--dataset", Path.Combine(dir, "none.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains("not found", stderr);

        await Sprint("data", "synth", "--out", dir, "--count", "20");
        var golden = Path.Combine(Cli.Fixtures, "golden", "qwen2-tiny-a");
        (code, _, stderr) = await Sprint("eval", "--model", golden, "--dataset", Path.Combine(dir, "test.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains("has no tokenizer", stderr);
    }
}

/// <summary>Runs <c>sprint</c> in-process with captured output.</summary>
static class Cli
{
    public static readonly string Fixtures = FindFixtures();

    public static async Task<(int Code, string Out, string Err)> Run(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await SprintCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    static string FindFixtures()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "tests", "fixtures"))) return Path.Combine(d.FullName, "tests", "fixtures");
        throw new DirectoryNotFoundException("tests/fixtures");
    }
}
