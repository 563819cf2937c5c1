using Sprint.Tests.Shared;

namespace Sprint.Cli.Tests;

/// <summary>
/// The suite in real containers, as a user brings it up: <c>deploy/local/up.sh</c> builds the images from the
/// repository's Dockerfile (from local base stand-ins where no registry answers), starts docker-compose.yml on Docker
/// or Podman with this deployment's secrets, and waits until every service is SERVING; <c>sprint solve</c> then asks
/// the published gateway over TLS (the deployment's CA) with the client's key, and <c>deploy/local/down.sh</c> leaves
/// nothing behind. Its own compose project, secrets and free host ports, so a stack the developer runs is not
/// touched. Skipped, with the engine's own words, where no container engine can run (.ci/run installs Podman).
/// </summary>
public sealed class LocalStackTests : IDisposable
{
    static readonly string Root = Path.GetDirectoryName(Path.GetDirectoryName(Cli.Fixtures))!;
    readonly string dir = Directory.CreateTempSubdirectory("sprint-stack").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Why no engine can run containers here, or null when one can (engine.sh's choice, then its <c>info</c>).</summary>
    static string? NoEngine()
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash", ["-c", "source deploy/local/engine.sh && pick_engine && \"$ENGINE\" info >/dev/null && { command -v docker-compose >/dev/null || docker compose version >/dev/null; }"])
        { WorkingDirectory = Root, RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(60_000)) { process.Kill(true); return "the container engine did not answer `info` within a minute"; }
        if (process.ExitCode == 0) return null;
        var line = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return $"no container engine can run here ({line ?? "no Docker or Podman, or no compose"}); .ci/run installs Podman";
    }

    /// <summary>The folder ghz is in; null: the fault row is left out, and says so.</summary>
    static string? Ghz()
    {
        if (Tool.Find("ghz", Root) is { } ghz) return Path.GetDirectoryName(ghz);
        Console.WriteLine("ghz is not installed: the fault row of LocalStackTests is left out (deploy/ghz/README.md)");
        return null;
    }

    [SkippableFact(Timeout = 40 * 60_000)]
    public async Task Up_sh_brings_the_compose_stack_up_a_solve_over_tls_answers_and_down_sh_removes_it()
    {
        var why = NoEngine();
        Skip.If(why is not null, why);

        var secrets = Path.Combine(dir, "secrets");
        var (code, _, stderr) = await Cli.Run(["auth", "deploy-secrets", "--out", secrets, "--k8s-base", Path.Combine(Root, "deploy", "k8s")]);
        Assert.True(code == 0, stderr);
        int grpcPort = Tool.FreePort(), httpPort = Tool.FreePort(), prometheusPort = Tool.FreePort();
        var project = $"sprinttest{Environment.ProcessId}";
        var environment = new Dictionary<string, string>
        {
            ["SPRINT_SECRETS"] = secrets, ["SPRINT_COMPOSE_PROJECT"] = project, ["SPRINT_LOCAL_STATE"] = Path.Combine(dir, "state"),
            ["SPRINT_GRPC_PORT"] = grpcPort.ToString(), ["SPRINT_HTTP_PORT"] = httpPort.ToString(), ["SPRINT_PROMETHEUS_PORT"] = prometheusPort.ToString(),
        };
        try
        {
            // The first build on a fresh machine makes the base stand-ins and the images (minutes); later ones reuse them.
            var up = await Tool.Run(Path.Combine(Root, "deploy", "local", "up.sh"), ["--generators", "1"], Root, environment, TimeSpan.FromMinutes(20));
            Assert.Contains($"https://127.0.0.1:{grpcPort}", up);

            var (solved, output, error) = await Cli.Run(["solve", "--gateway", $"https://127.0.0.1:{grpcPort}", "--ca-cert", Path.Combine(secrets, "tls", "ca.crt"),
                "--api-key-file", Path.Combine(secrets, "client.key"), "--plain", "--seed", "7",
                "Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?"]);
            Assert.True(solved == 0, error + output);
            Assert.Contains("verdict: 52", output);   // the in-process suite's verdict for this question and seed

            // --system reaches the gateway as the Solve's system_prompt, and its rule answers by name (exit 2: INVALID_ARGUMENT).
            var (invalid, _, invalidError) = await Cli.Run(["solve", "--gateway", $"https://127.0.0.1:{grpcPort}", "--ca-cert", Path.Combine(secrets, "tls", "ca.crt"),
                "--api-key-file", Path.Combine(secrets, "client.key"), "--plain", "--system", new string('x', 9000), "Ava has 3 pens. How many pens does Ava have?"]);
            Assert.Equal(2, invalid);
            Assert.Contains("system_prompt:", invalidError);

            // Without the key the published gateway refuses.
            var (refused, _, refusal) = await Cli.Run(["solve", "--gateway", $"https://127.0.0.1:{grpcPort}", "--ca-cert", Path.Combine(secrets, "tls", "ca.crt"), "--plain", "Ava has 3 pens. How many pens does Ava have?"]);
            Assert.NotEqual(0, refused);
            Assert.Contains("Unauthenticated", refusal, StringComparison.OrdinalIgnoreCase);

            // One row of the fault matrix as deployed (deploy/bench/faults.sh): two replicas of every service, an
            // embedding replica's process killed 5 s into a ghz load of 40 Solves: none fails. (It brings this
            // project's stack up again with the replicas, and takes it down.)
            if (Ghz() is { } ghzDir)
            {
                var faults = await Tool.Run(Path.Combine(Root, "deploy", "bench", "faults.sh"), ["embedding:kill"], Root,
                    new Dictionary<string, string>(environment)
                    {
                        ["SPRINT_BENCH_REQUESTS"] = "40", ["SPRINT_BENCH_OUT"] = Path.Combine(dir, "bench"),
                        ["PATH"] = $"{Environment.GetEnvironmentVariable("PATH")}:{ghzDir}",
                    }, TimeSpan.FromMinutes(15));
                var row = faults.Split('\n').Single(l => l.StartsWith("| embedding | kill |", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);
                Assert.True((row[3], row[4]) == ("40", "0"), $"40 Solves, none failed, expected:\n{faults}");
            }
        }
        finally
        {
            await Tool.Run(Path.Combine(Root, "deploy", "local", "down.sh"), [], Root, environment, TimeSpan.FromMinutes(3));
        }
        var left = await Tool.Run("bash", ["-c", $"source deploy/local/engine.sh && pick_engine && \"$ENGINE\" ps -aq --filter label=com.docker.compose.project={project}"], Root);
        Assert.Equal("", left.Trim());
    }
}
