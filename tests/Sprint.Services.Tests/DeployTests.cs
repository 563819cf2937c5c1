using System.Text.Json.Nodes;

namespace Sprint.Services.Tests;

/// <summary>The deployment files are accepted by the tools that read them, and say what the README says.</summary>
public sealed class DeployTests
{
    /// <summary>The variables sprint auth deploy-secrets writes to compose.env (its own test renders the real ones).</summary>
    static string ComposeEnv()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sprint-compose-{Environment.ProcessId}.env");
        File.WriteAllText(path, "SPRINT_CLIENT_KEY_SHA256=" + new string('a', 64) + "\nSPRINT_SERVICE_KEY=sk-x\nSPRINT_SERVICE_KEY_SHA256=" + new string('b', 64) +
            "\nSPRINT_REDIS_PASSWORD=p\nSPRINT_TLS=/secrets/tls\nSPRINT_UID=1000\nSPRINT_GID=1000\n");
        return path;
    }

    [Fact(Timeout = 300_000)]
    public async Task Compose_file_is_valid_and_generators_can_scale()
    {
        var env = ComposeEnv();
        var services = (await Tool.Run("docker-compose", ["--env-file", env, "config", "--services"], Paths.Root)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["embedding", "gateway", "generator", "head-selector", "prometheus", "redis", "verifier"], services.Order());
        var config = await Tool.Run("docker-compose", ["--env-file", env, "config"], Paths.Root);
        var generator = config[config.IndexOf("\n  generator:", StringComparison.Ordinal)..config.IndexOf("\n  head-selector:", StringComparison.Ordinal)];
        Assert.DoesNotContain("container_name", generator);   // --scale needs unnamed containers
        Assert.DoesNotContain("ports:", generator);           // and no fixed host ports
        Assert.Contains("dns:///generator:5003", config);
        Assert.Contains("Gateway__VerifierAddress: dns:///verifier:5004", config);
        Assert.Contains("- 127.0.0.1:5000:5000", config);   // published on the host's loopback only
    }

    [Fact(Timeout = 300_000)]
    public async Task Kubernetes_base_has_http_probes_a_headless_generator_service_and_an_hpa()
    {
        var dir = Path.Combine(Paths.Root, "deploy", "k8s");
        var files = Directory.GetFiles(dir, "*.yaml").Where(f => !f.EndsWith("kustomization.yaml")).Order().ToArray();
        var docs = JsonNode.Parse(await Tool.Run("/usr/bin/python3",
            ["-c", "import sys, json, yaml; print(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))", .. files], dir))!.AsArray();
        var kustomization = await File.ReadAllTextAsync(Path.Combine(dir, "kustomization.yaml"));
        Assert.All(files, f => Assert.Contains("- " + Path.GetFileName(f), kustomization));

        JsonNode Find(string kind, string name) => docs.Single(d => d!["kind"]!.GetValue<string>() == kind && d["metadata"]!["name"]!.GetValue<string>() == name)!;
        foreach (var (name, port) in new[] { ("embedding", 5001), ("head-selector", 5002), ("generator", 5003), ("verifier", 5004), ("gateway", 5000) })
        {
            var container = Find("Deployment", name)["spec"]!["template"]!["spec"]!["containers"]![0]!;
            Assert.Equal(port, container["ports"]![0]!["containerPort"]!.GetValue<int>());
            // The kubelet's gRPC probe cannot speak TLS: HTTP probes on the plaintext metrics port.
            Assert.Equal(("/healthz", "metrics"), (container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>(), container["readinessProbe"]!["httpGet"]!["port"]!.GetValue<string>()));
            Assert.Equal("/livez", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        }
        Assert.Equal("None", Find("Service", "generator-headless")["spec"]!["clusterIP"]!.GetValue<string>());
        Assert.Equal("generator", Find("HorizontalPodAutoscaler", "generator")["spec"]!["scaleTargetRef"]!["name"]!.GetValue<string>());
        Assert.Equal("dns:///generator-headless:5003", Find("ConfigMap", "sprint-config")["data"]!["Gateway__GeneratorAddresses__0"]!.GetValue<string>());
        Assert.Equal("dns:///verifier-headless:5004", Find("ConfigMap", "sprint-config")["data"]!["Gateway__VerifierAddress"]!.GetValue<string>());
        // No single point of failure: two replicas of every service, a disruption budget, updates that never go below them.
        foreach (var service in new[] { "embedding", "head-selector", "verifier", "generator", "gateway" })
        {
            var deployment = Find("Deployment", service)["spec"]!;
            Assert.Equal(2, deployment["replicas"]!.GetValue<int>());
            Assert.Equal(0, deployment["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<int>());
            Assert.Equal(1, Find("PodDisruptionBudget", service)["spec"]!["minAvailable"]!.GetValue<int>());
        }
        Assert.Equal("verifier", Find("HorizontalPodAutoscaler", "verifier")["spec"]!["scaleTargetRef"]!["name"]!.GetValue<string>());
        // Only the gateway may call the Verifier.
        var internalPolicy = Find("NetworkPolicy", "internal-from-gateway")["spec"]!;
        Assert.Contains("verifier", internalPolicy["podSelector"]!["matchExpressions"]![0]!["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains(5004, internalPolicy["ingress"]![0]!["ports"]!.AsArray().Select(p => p!["port"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData("solve.json", "sprint.v1.GatewayService.Solve")]
    [InlineData("generate.json", "sprint.v1.GeneratorService.Generate")]
    [InlineData("check.json", "sprint.v1.VerifierService.Check")]
    public void Ghz_configs_name_real_protos_and_methods(string file, string call)
    {
        var dir = Path.Combine(Paths.Root, "deploy", "ghz");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, file)))!;
        Assert.Equal(call, config["call"]!.GetValue<string>());
        var proto = File.ReadAllText(Path.Combine(dir, config["proto"]!.GetValue<string>()));
        var parts = call.Split('.');
        Assert.Contains($"service {parts[^2]} {{", proto);
        Assert.Contains($"rpc {parts[^1]}(", proto);
        Assert.True(TimeSpan.FromSeconds(int.Parse(config["timeout"]!.GetValue<string>().TrimEnd('s'))) >= TimeSpan.FromSeconds(60));
    }

    [Fact(Timeout = 300_000)]
    public async Task Protos_pass_buf_lint()
    {
        var buf = Path.Combine(Paths.Root, "tests", "clients", "node", "node_modules", ".bin", "buf");
        if (!File.Exists(buf)) throw new FileNotFoundException($"{buf} is missing: run 'npm ci' in tests/clients/node (.ci/run does)");
        await Tool.Run(buf, ["lint"], Paths.Protos);
    }
}
