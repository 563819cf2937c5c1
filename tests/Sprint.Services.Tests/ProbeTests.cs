namespace Sprint.Services.Tests;

/// <summary>
/// <c>sprint-service probe</c>: the service binary as its own health check (the images have no curl and need no
/// shell; <c>deploy/local/up.sh</c> runs it in every container). Exit 0 when the service beside it is SERVING,
/// 1 when nothing answers on its metrics port, 2 when no metrics port is set — each with one line saying so.
/// </summary>
public sealed class ProbeTests
{
    static async Task<(int Code, string Out, string Err)> Probe(params string[] settings)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Paths.ServiceDll("Verifier", "Sprint.Verifier"), "probe", .. settings])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        try { await process.WaitForExitAsync(timeout.Token); }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    [Fact(Timeout = 120_000)]
    public async Task Probe_exits_0_for_a_serving_service_1_for_no_answer_and_2_without_a_metrics_port()
    {
        int metricsPort = SuiteFixture.FreePort();
        using (var verifier = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", $"--Service:MetricsPort={metricsPort}"))
        {
            var serving = await Probe($"--Service:MetricsPort={metricsPort}");
            Assert.Equal((0, "verifier: SERVING"), (serving.Code, serving.Out));
            // The same setting from the environment, as compose and Kubernetes give it.
            var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Paths.ServiceDll("Verifier", "Sprint.Verifier"), "probe"]) { RedirectStandardOutput = true };
            start.Environment["Service__MetricsPort"] = metricsPort.ToString();
            using var fromEnvironment = System.Diagnostics.Process.Start(start)!;
            Assert.Equal("verifier: SERVING", (await fromEnvironment.StandardOutput.ReadToEndAsync()).Trim());
            await fromEnvironment.WaitForExitAsync();
            Assert.Equal(0, fromEnvironment.ExitCode);
        }

        var gone = await Probe($"--Service:MetricsPort={metricsPort}");   // the service has stopped
        Assert.Equal(1, gone.Code);
        Assert.StartsWith($"verifier: NOT_SERVING (no answer on port {metricsPort}", gone.Out);

        var unset = await Probe();
        Assert.Equal(2, unset.Code);
        Assert.Equal("verifier: probe: Service:MetricsPort is not set, so there is no health endpoint to ask", unset.Err);
    }

    /// <summary>
    /// A generator that can never come up (its model folder is missing) says why in one line — no stack trace — and
    /// its probe says NOT_SERVING, so deploy/local/up.sh, which prints a failing container's last lines, shows that line.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task A_generator_without_its_model_says_why_in_one_line_and_its_probe_says_not_serving()
    {
        int metricsPort = SuiteFixture.FreePort();
        var missing = Path.Combine(Path.GetTempPath(), $"sprint-no-model-{Environment.ProcessId}");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Paths.ServiceDll("Generator", "Sprint.Generator"), "--Service:Port=0",
            $"--Service:MetricsPort={metricsPort}", $"--Generator:Model={missing}", "--Generator:Threads=1"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            string Log() { lock (log) return log.ToString(); }
            for (var until = DateTime.UtcNow.AddSeconds(60); !Log().Contains("loading the model failed"); await Task.Delay(100))
                Assert.True(DateTime.UtcNow < until && !process.HasExited, "no load failure was logged:\n" + Log());
            await Task.Delay(500);   // anything the failure would print after its line
            var lines = Log().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var failure = Assert.Single(lines, l => l.Contains("loading the model failed"));
            Assert.Contains($"loading the model failed: model folder {missing} does not exist", failure);
            Assert.DoesNotContain(lines, l => l.Contains(" at Sprint.") || l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

            var probe = await Probe($"--Service:MetricsPort={metricsPort}");
            Assert.Equal((1, "verifier: NOT_SERVING (503)"), (probe.Code, probe.Out));   // the Verifier's binary asks the generator's port
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
