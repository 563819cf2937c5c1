using System.Diagnostics;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// A real Prometheus (Debian's prometheus) scrapes `sprint serve`'s metrics port; after a few Solves every query of the
/// Grafana dashboard (deploy/grafana/sprint-dashboard.json) returns data through Prometheus's HTTP API, so no panel is
/// empty or misspelled. Skipped, saying why, where Prometheus is not installed (.ci/run installs it).
/// </summary>
public sealed class PrometheusTests
{
    const string Prometheus = "/usr/bin/prometheus";

    [SkippableFact(Timeout = 300_000)]
    public async Task Every_dashboard_query_returns_data_from_a_real_prometheus()
    {
        Skip.If(!File.Exists(Prometheus), "Prometheus is not installed (Debian: apt-get install prometheus; .ci/run does)");
        int metricsPort = SuiteFixture.FreePort(), prometheusPort = SuiteFixture.FreePort();
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", "--Generator:Threads=1", "--Embedding:Threads=1",
            $"--Service:MetricsPort={metricsPort}");
        var dir = Directory.CreateTempSubdirectory("sprint-prometheus-").FullName;
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"),
            $"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sprint\n    static_configs:\n      - targets: [\"127.0.0.1:{metricsPort}\"]\n");
        var start = new ProcessStartInfo(Prometheus) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                     $"--web.listen-address=127.0.0.1:{prometheusPort}" })
            start.ArgumentList.Add(a);
        using var prometheus = Process.Start(start)!;
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            using var channel = GrpcChannel.ForAddress(serve.Address);
            var gateway = new GatewayService.GatewayServiceClient(channel);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{prometheusPort}") };
            async Task<JsonArray?> Query(string expr)
            {
                try
                {
                    var json = JsonNode.Parse(await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr)))!;
                    return json["data"]?["result"]?.AsArray();
                }
                catch (HttpRequestException) { return null; }   // not listening yet
            }
            // Solves between scrapes, until Prometheus has seen the suite for a few seconds.
            for (var until = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < until;)
            {
                await Rpc.Solve(gateway, new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 16, Seed = 1 });
                if ((await Query("count_over_time(up{job=\"sprint\"}[1m])"))?.FirstOrDefault()?["value"]?[1]?.GetValue<string>() is { } n && int.Parse(n) >= 5) break;
                await Task.Delay(300);
            }
            var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(Paths.Root, "deploy", "grafana", "sprint-dashboard.json")))!;
            var queries = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => t!["expr"]!.GetValue<string>())).ToList();
            Assert.NotEmpty(queries);
            foreach (var expr in queries)
            {
                var result = await Query(expr);
                Assert.True(result is { Count: > 0 }, $"no data for the dashboard query {expr}");
            }
        }
        finally
        {
            if (!prometheus.HasExited) prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }
}
