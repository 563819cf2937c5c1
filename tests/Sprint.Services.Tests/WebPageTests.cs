using System.Diagnostics;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Sprint.Gateway;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// The Solve page in a real headless Chromium (Debian's chromium, driven by puppeteer-core: web/test/solve-page.mjs)
/// against two `sprint serve` processes (the second asks for an API key), and the committed bundle against a rebuild. Skipped, saying why, where
/// Chromium or web/node_modules is missing (.ci/run installs both).
/// </summary>
public sealed class WebPageTests
{
    static readonly string Web = Path.Combine(Paths.Root, "web");
    const string Chromium = "/usr/bin/chromium";

    static void SkipWithoutTools(bool browser)
    {
        Skip.If(!Directory.Exists(Path.Combine(Web, "node_modules", "esbuild")), $"run 'npm ci' in {Web} first (.ci/run does)");
        Skip.If(browser && !File.Exists(Chromium), "Chromium is not installed (Debian: apt-get install chromium; .ci/run does)");
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_page_streams_eight_candidates_shows_a_field_error_and_stop_empties_the_batch()
    {
        SkipWithoutTools(browser: true);
        int webPort = SuiteFixture.FreePort(), longWebPort = SuiteFixture.FreePort();
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", $"--web-port={webPort}", "--Generator:Threads=1", "--Embedding:Threads=1");
        // The long one asks for an API key (allowed every service, so this test may read the generator's batch too).
        const string apiKey = "sk-web-page-test-0123456789";
        using var longServe = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", $"--web-port={longWebPort}", "--Generator:Threads=1",
            "--Embedding:Threads=1", "--Gateway:IgnoreEos=true", "--Service:Auth:ApiKeys:0:Name=web",
            $"--Service:Auth:ApiKeys:0:Sha256={Sprint.ServiceDefaults.ApiKeyHandler.Hash(apiKey)}", "--Service:Auth:ApiKeys:0:Services:0=*");
        Assert.Contains($"Solve page, gRPC-Web and HTTP/JSON on http://127.0.0.1:{webPort}/", serve.Log);
        Assert.Contains($"OpenAI-compatible API: base URL http://127.0.0.1:{webPort}/v1", serve.Log);
        var screenshot = Path.Combine(Path.GetTempPath(), $"sprint-solve-page-{Environment.ProcessId}.png");

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Web, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in new[] { Path.Combine("test", "solve-page.mjs"), $"http://127.0.0.1:{webPort}/", $"http://127.0.0.1:{longWebPort}/", Chromium, screenshot, apiKey })
            start.ArgumentList.Add(a);
        using var node = Process.Start(start)!;
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        async Task<JsonNode> Phase(string name)
        {
            var line = await node.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"the page script ended before '{name}': {await stderr}");
            var json = JsonNode.Parse(line)!;
            Assert.Equal(name, json["phase"]!.GetValue<string>());
            return json;
        }
        try
        {
            // The README question, n = 8: eight panes, each with text before the verdict arrived (streamed, not one
            // final blob), every candidate done, the verdict 52 in a live region.
            var solved = await Phase("solved");
            Assert.Equal(8, solved["panes"]!.GetValue<int>());
            Assert.Equal(8, solved["done"]!.GetValue<int>());
            var verdictAt = solved["verdictAt"]!.GetValue<double>();
            var firstText = solved["firstText"]!.AsObject();
            Assert.Equal(8, firstText.Count);
            Assert.All(firstText, p => Assert.True(p.Value!.GetValue<double>() < verdictAt, $"{p.Key} showed text only with the verdict"));
            Assert.Equal("52", solved["answer"]!.GetValue<string>());
            Assert.Equal(1, solved["chosen"]!.GetValue<int>());
            Assert.Equal("polite", solved["live"]!.GetValue<string>());
            // Every candidate's check is shown (✓ n steps / ✗ at step k), and the verdict names the rule.
            var checks = solved["checks"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
            Assert.Equal(8, checks.Count);
            Assert.All(checks, c => Assert.Matches(@"^(✓ \d+ steps? checked|✗ at step \d+: .+ \(is .+\)|– no step to check)( · verifier \d+ % right)?$", c));
            Assert.StartsWith("verified majority", solved["rule"]!.GetValue<string>());
            Assert.True(new FileInfo(screenshot).Length > 10_000, "no screenshot");

            // An empty question: the gateway's INVALID_ARGUMENT shown under the question, which gets the focus.
            var fieldError = await Phase("field-error");
            Assert.StartsWith("question: must not be empty", fieldError["error"]!.GetValue<string>());
            Assert.Equal("true", fieldError["invalid"]!.GetValue<string>());
            Assert.Equal("question", fieldError["focused"]!.GetValue<string>());

            // Without the key the gateway says UNAUTHENTICATED: shown under the API key field (unfolded, focused).
            var credential = await Phase("credential-error");
            Assert.StartsWith("a valid credential is required", credential["error"]!.GetValue<string>());
            Assert.Equal("true", credential["invalid"]!.GetValue<string>());
            Assert.Equal("api-key", credential["focused"]!.GetValue<string>());
            Assert.True(credential["open"]!.GetValue<bool>());

            // With it — Stop: a Solve whose candidates ignore EOS is decoding on the generator; Stop cancels it from
            // the browser and the generator's batch empties.
            await Phase("streaming");
            using var channel = GrpcChannel.ForAddress(longServe.Address, new GrpcChannelOptions
            {
                HttpHandler = new Sprint.ServiceDefaults.ServiceKeyHandler(apiKey, new SocketsHttpHandler()),
            });
            var generator = new GeneratorService.GeneratorServiceClient(channel);
            Assert.True((await generator.ModelInfoAsync(new ModelInfoRequest())).ActiveSequences > 0, "nothing was decoding before Stop");
            await node.StandardInput.WriteLineAsync("stop");
            await node.StandardInput.FlushAsync();
            var stopped = await Phase("stopped");
            Assert.Equal("", stopped["verdict"]!.GetValue<string>());
            Assert.True(stopped["solveEnabled"]!.GetValue<bool>());
            Assert.Equal("", stopped["keyError"]!.GetValue<string>());
            ModelInfoResponse info;
            for (var until = DateTime.UtcNow.AddSeconds(20); ((info = await generator.ModelInfoAsync(new ModelInfoRequest())).ActiveSequences > 0
                || info.QueuedSequences > 0) && DateTime.UtcNow < until;) await Task.Delay(50);
            Assert.Equal(0, info.ActiveSequences + info.QueuedSequences);   // the page is still open: Stop, not closing, freed the rows
            await node.StandardInput.WriteLineAsync("close");
            node.StandardInput.Close();
            Assert.Equal(apiKey, (await Phase("kept"))["key"]!.GetValue<string>());   // kept for the tab across a reload
            await Phase("done");
            await node.WaitForExitAsync(timeout.Token);
            Assert.True(node.ExitCode == 0, await stderr);
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            File.Delete(screenshot);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_page_on_a_listed_origin_may_call_solve_and_others_may_not()
    {
        int webPort = SuiteFixture.FreePort();
        var (app, channel) = await DegradedTests.Start(b => b.AddGateway(), a => a.MapGateway(),
            $"--Service:WebPort={webPort}", "--Gateway:CorsOrigins:0=https://page.example");
        await using var _ = app;
        using var __ = channel;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{webPort}") };
        async Task<HttpResponseMessage> Preflight(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, "/sprint.v1.GatewayService/Solve");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent");
            return await http.SendAsync(request);
        }
        using var allowed = await Preflight("https://page.example");
        Assert.Equal("https://page.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var other = await Preflight("https://elsewhere.example");
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        // The page itself is served on the same port.
        var page = await http.GetStringAsync("/");
        Assert.Contains("<script type=\"module\" src=\"app.js\">", page);
        // Issue 21: the page and its files carry a CSP without inline script, no framing, no sniffing, no referrer.
        foreach (var file in new[] { "/", "/app.js", "/app.css" })
        {
            using var response = await http.GetAsync(file);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        }
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_committed_bundle_is_what_the_web_sources_build()
    {
        SkipWithoutTools(browser: false);
        var rebuilt = Path.Combine(Path.GetTempPath(), $"sprint-app-{Environment.ProcessId}.js");
        try
        {
            await Tool.Run("npm", ["run", "build"], Web, new Dictionary<string, string> { ["OUT"] = rebuilt });
            var committed = Path.Combine(Paths.Root, "services", "Gateway", "wwwroot", "app.js");
            Assert.True(File.ReadAllBytes(committed).AsSpan().SequenceEqual(File.ReadAllBytes(rebuilt)),
                "services/Gateway/wwwroot/app.js differs from a fresh build of web/: run 'npm run build' in web/ and commit the bundle");
        }
        finally { File.Delete(rebuilt); }
    }
}
