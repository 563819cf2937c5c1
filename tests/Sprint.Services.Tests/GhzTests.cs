using System.Text.Json.Nodes;

namespace Sprint.Services.Tests;

/// <summary>
/// The load tester users run, with the repository's own configs (deploy/ghz), against `sprint serve` as its own
/// process: a short, bounded load where every call must answer OK. Skipped, saying why, where ghz is not installed
/// (CI has it: .ci/run puts ../shared/tools on PATH).
/// </summary>
public sealed class GhzTests
{
    static string? FindGhz() => Tool.Find("ghz", Paths.Root);

    /// <summary>Runs ghz from deploy/ghz with a config and overrides; returns its JSON report.</summary>
    static async Task<JsonNode> Ghz(string ghz, string config, int port, params string[] overrides)
    {
        var json = await Tool.Run(ghz, ["--config", config, "-O", "json", .. overrides, $"127.0.0.1:{port}"],
            Path.Combine(Paths.Root, "deploy", "ghz"));
        return JsonNode.Parse(json)!;
    }

    static void AssertAllOk(JsonNode report, int count)
    {
        Assert.Equal(count, report["count"]!.GetValue<int>());
        var codes = report["statusCodeDistribution"]!.AsObject();
        Assert.True(codes.Count == 1 && codes["OK"]?.GetValue<int>() == count, $"status codes: {codes.ToJsonString()}");
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_repositorys_ghz_configs_run_against_sprint_serve_with_every_call_ok()
    {
        var ghz = FindGhz();
        Skip.If(ghz is null, "ghz is not installed (https://ghz.sh); .ci/run uses ../shared/tools/ghz");
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", "--Generator:Threads=1", "--Embedding:Threads=1");

        AssertAllOk(await Ghz(ghz!, "solve.json", serve.Port, "-n", "16"), 16);                              // 8 concurrent Solve(n=8)
        AssertAllOk(await Ghz(ghz!, "solve.json", serve.Port, "-c", "1", "--connections", "1", "-n", "2"), 2);   // the README's baseline
        AssertAllOk(await Ghz(ghz!, "generate.json", serve.Port, "-n", "64"), 64);                           // 32 concurrent Generate
        AssertAllOk(await Ghz(ghz!, "solve.json", serve.Port, "-n", "8", "--data",
            """{"question":"Ava has 3 pens. Then Noah gives Ava 4 pens. How many pens does Ava have now?","n":4,"strategy":"STRATEGY_SAMPLING"}"""), 8);
        AssertAllOk(await Ghz(ghz!, "solve.json", serve.Port, "-n", "8", "--data",
            """{"question":"Ava has 3 pens. Then Noah gives Ava 4 pens. How many pens does Ava have now?","n":8,"aggregation":"AGGREGATION_MAJORITY","adaptive":{}}"""), 8);
        AssertAllOk(await Ghz(ghz!, "check.json", serve.Port, "-n", "200"), 200);                              // 16 concurrent Check
    }
}
