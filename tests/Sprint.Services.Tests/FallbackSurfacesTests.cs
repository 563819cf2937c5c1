using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Sprint.Contracts.V1;
using Sprint.Tests.Shared;

namespace Sprint.Services.Tests;

/// <summary>
/// A `sprint serve` whose gateway cannot reach an embedding service (its address is a port nobody listens on): a
/// sprint Solve is planned as sampling, and every surface says so — the gRPC plan, the OpenAI route's sprint
/// extension, `sprint solve`, and the Solve page in Chromium.
/// </summary>
public sealed class FallbackSurfacesTests
{
    static Task<ServiceProcess> ServeWithoutEmbedding(int webPort) => ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", $"--web-port={webPort}",
        "--Generator:Threads=1", "--Embedding:Threads=1", $"--Gateway:EmbeddingAddress=http://127.0.0.1:{SuiteFixture.FreePort()}");

    const string Reason = "embedding: unreachable (Unavailable)";

    [Fact(Timeout = 300_000)]
    public async Task Grpc_openai_and_the_cli_say_a_plan_fell_back_to_sampling_and_why()
    {
        int webPort = SuiteFixture.FreePort();
        using var serve = await ServeWithoutEmbedding(webPort);
        using var channel = GrpcChannel.ForAddress(serve.Address);
        var gateway = new GatewayService.GatewayServiceClient(channel);
        var request = new SolveRequest { Question = Rpc.Question, N = 2, Strategy = Strategy.Sprint, MaxNewTokens = 8, Seed = 5, Aggregation = Aggregation.Majority };
        var (plan, results, _) = Rpc.AssertWellFormed(await Rpc.Solve(gateway, request));
        Assert.Equal(Strategy.Sampling, plan.Strategy);
        Assert.Equal(Strategy.Sprint, plan.Fallback.Requested);
        Assert.Equal(Reason, plan.Fallback.Reason);
        Assert.All(results, r => Assert.Equal("", r.Error));
        // Strategies that need no heads never fall back.
        var sampling = Rpc.AssertWellFormed(await Rpc.Solve(gateway, new SolveRequest(request) { Strategy = Strategy.Sampling })).Plan;
        Assert.Null(sampling.Fallback);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        var chat = await http.PostAsJsonAsync($"http://127.0.0.1:{webPort}/v1/chat/completions", new JsonObject
        {
            ["model"] = "sprint-tiny-math", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Rpc.Question }),
            ["best_of"] = 2, ["max_tokens"] = 8, ["seed"] = 5,
        });
        var body = JsonNode.Parse(await chat.Content.ReadAsStringAsync())!;
        Assert.True(chat.IsSuccessStatusCode, body.ToJsonString());
        Assert.Equal("STRATEGY_SAMPLING", body["sprint"]!["plan"]!["strategy"]!.GetValue<string>());
        Assert.Equal(Reason, body["sprint"]!["plan"]!["fallback"]!["reason"]!.GetValue<string>());
        // require_selected_heads: the failure instead, in OpenAI's shape (503).
        var strict = await http.PostAsJsonAsync($"http://127.0.0.1:{webPort}/v1/chat/completions", new JsonObject
        {
            ["model"] = "sprint-tiny-math", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Rpc.Question }),
            ["best_of"] = 2, ["max_tokens"] = 8, ["require_selected_heads"] = true,
        });
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, strict.StatusCode);
        Assert.Contains("embedding: unreachable", await strict.Content.ReadAsStringAsync());

        var cli = Paths.ServiceDll("Sprint.Cli", "sprint");
        var plain = await Tool.Run("dotnet", [cli, "solve", "--gateway", serve.Address, "--plain", "--n", "2", "--max-new-tokens", "8", "--seed", "5", Rpc.Question], Paths.Root);
        Assert.Contains($"fell back to sampling: sprint's heads could not be chosen ({Reason})", plain);
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_page_shows_the_fallback_above_the_candidates()
    {
        var web = Path.Combine(Paths.Root, "web");
        Skip.If(!Directory.Exists(Path.Combine(web, "node_modules", "puppeteer-core")), $"run 'npm ci' in {web} first (.ci/run does)");
        Skip.If(!File.Exists("/usr/bin/chromium"), "Chromium is not installed (Debian: apt-get install chromium; .ci/run does)");
        int webPort = SuiteFixture.FreePort();
        using var serve = await ServeWithoutEmbedding(webPort);
        var shown = JsonNode.Parse(await Tool.Run("node", [Path.Combine("test", "fallback-page.mjs"), $"http://127.0.0.1:{webPort}/", "/usr/bin/chromium"], web))!;
        Assert.StartsWith("Plan: sampling, 2 candidates", shown["caption"]!.GetValue<string>());
        Assert.Equal($"Fell back to sampling: sprint's heads could not be chosen ({Reason})", shown["fallback"]!.GetValue<string>());
        Assert.NotEqual("", shown["verdict"]!.GetValue<string>());
    }
}
