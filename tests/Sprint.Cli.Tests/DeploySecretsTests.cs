using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Sprint.Tests.Shared;

namespace Sprint.Cli.Tests;

/// <summary>
/// <c>sprint auth deploy-secrets</c> and the deploy files that need what it makes: the rendered Kubernetes
/// manifests (the kustomize overlay it writes, rendered by <c>kubectl kustomize</c>) and compose (<c>docker-compose
/// config</c>), checked field by field as issue 21 asks.
/// </summary>
public sealed class DeploySecretsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-deploy").FullName;
    static readonly string Root = Path.GetDirectoryName(Path.GetDirectoryName(Cli.Fixtures))!;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    async Task<string> Make()
    {
        var secrets = Path.Combine(dir, "secrets");
        var (code, stdout, stderr) = await Cli.Run(["auth", "deploy-secrets", "--out", secrets, "--k8s-base", Path.Combine(Root, "deploy", "k8s")]);
        Assert.True(code == 0, stderr);
        Assert.Contains("kubectl apply -k", stdout);
        return secrets;
    }

    static async Task<JsonArray> Render(string kustomization)
    {
        var yaml = await Tool.Run("kubectl", ["kustomize", kustomization], Root);
        var json = await Tool.Run("/usr/bin/python3", ["-c", "import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))", WriteTemp(yaml)], Root);
        return JsonNode.Parse(json)!.AsArray();
    }

    static string WriteTemp(string text)
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, text);
        return path;
    }

    [Fact(Timeout = 300_000)]
    public async Task The_rendered_kubernetes_manifests_run_every_container_locked_down_with_required_secrets()
    {
        var docs = await Render(await Make());
        var secrets = docs.Where(d => d!["kind"]!.GetValue<string>() == "Secret").Select(d => d!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
        var deployments = docs.Where(d => d!["kind"]!.GetValue<string>() == "Deployment").ToList();
        Assert.Equal(6, deployments.Count);
        foreach (var deployment in deployments)
        {
            var name = deployment!["metadata"]!["name"]!.GetValue<string>();
            var pod = deployment["spec"]!["template"]!["spec"]!;
            Assert.False(pod["automountServiceAccountToken"]!.GetValue<bool>(), name);
            Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>(), name);
            Assert.Equal("RuntimeDefault", pod["securityContext"]!["seccompProfile"]!["type"]!.GetValue<string>());
            foreach (var container in pod["containers"]!.AsArray())
            {
                var where = $"{name}/{container!["name"]}";
                var security = container["securityContext"]!;
                Assert.True(security["runAsNonRoot"]!.GetValue<bool>(), where);
                Assert.True(security["readOnlyRootFilesystem"]!.GetValue<bool>(), where);
                Assert.False(security["allowPrivilegeEscalation"]!.GetValue<bool>(), where);
                Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(c => c!.GetValue<string>()));
                Assert.Equal("RuntimeDefault", security["seccompProfile"]!["type"]!.GetValue<string>());
                var image = container["image"]!.GetValue<string>();
                Assert.Matches(@":\d+\.\d+\.\d+(-\w+)?$", image);   // a version tag, never :latest or none
                foreach (var kind in new[] { "requests", "limits" })
                    foreach (var resource in new[] { "cpu", "memory" })
                        Assert.NotNull(container["resources"]![kind]![resource]);
                // Every Secret a container loads exists, and none is optional: a missing one stops the pod.
                foreach (var from in container["envFrom"]?.AsArray() ?? [])
                    if (from!["secretRef"] is { } secretRef)
                    {
                        Assert.Contains(secretRef["name"]!.GetValue<string>(), secrets);
                        Assert.Null(secretRef["optional"]);
                    }
            }
            foreach (var volume in pod["volumes"]?.AsArray() ?? [])
                if (volume!["secret"] is { } secret) Assert.Contains(secret["secretName"]!.GetValue<string>(), secrets);
        }
        JsonNode Secret(string name) => docs.Single(d => d!["kind"]!.GetValue<string>() == "Secret" && d["metadata"]!["name"]!.GetValue<string>() == name)!;
        string Decode(JsonNode secret, string key) => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(secret["data"]![key]!.GetValue<string>()));
        // The gateway holds the key it sends; the upstream services hold only its hash, and may not call anything with it.
        Assert.StartsWith("sk-", Decode(Secret("sprint-gateway-auth"), "Service__Auth__ServiceKey"));
        Assert.Null(Secret("sprint-upstream-auth")["data"]!["Service__Auth__ServiceKey"]);
        Assert.Equal(64, Decode(Secret("sprint-upstream-auth"), "Service__Auth__ApiKeys__0__Sha256").Length);
        Assert.True(docs.Count(d => d!["kind"]!.GetValue<string>() == "NetworkPolicy" && d["spec"]!["policyTypes"]!.AsArray().Any(t => t!.GetValue<string>() == "Egress")) >= 3);
        // Certificates: the gateway's for client and server authentication, the others' for servers only.
        foreach (var service in new[] { "gateway", "embedding", "head-selector", "verifier", "generator" })
        {
            using var certificate = X509Certificate2.CreateFromPem(Decode(Secret("sprint-tls-" + service), "tls.crt"));
            var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList();
            Assert.Equal(service == "gateway", usages.Contains("1.3.6.1.5.5.7.3.2"));
            Assert.True(certificate.MatchesHostname(service), service);
        }
    }

    /// <summary>A key on the command line would stay in shell history and every process listing: there is no such option.</summary>
    [Fact(Timeout = 60_000)]
    public async Task Client_commands_take_a_key_from_a_file_or_the_environment_never_an_argument()
    {
        var (code, _, stderr) = await Cli.Run(["solve", "--gateway", "http://127.0.0.1:1", "--api-key", "sk-secret", "q"]);
        Assert.NotEqual(0, code);
        Assert.Contains("Unrecognized command or argument", stderr);
        (code, _, stderr) = await Cli.Run(["solve", "--gateway", "http://127.0.0.1:1", "--api-key-file", Path.Combine(dir, "missing.key"), "q"]);
        Assert.NotEqual(0, code);
        Assert.Contains("missing.key does not exist", stderr);
        var empty = Path.Combine(dir, "empty.key");
        File.WriteAllText(empty, "\n");
        (code, _, stderr) = await Cli.Run(["solve", "--gateway", "http://127.0.0.1:1", "--api-key-file", empty, "q"]);
        Assert.Contains("is empty", stderr);
    }

    [Fact(Timeout = 300_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Secrets_are_private_files_made_once_and_compose_refuses_to_start_without_them()
    {
        var secrets = await Make();
        foreach (var file in new[] { "client.key", "gateway.env", "upstream.env", "redis.env", "compose.env", "tls/gateway/tls.key" })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(secrets, file)));
        var (again, _, _) = await Cli.Run(["auth", "deploy-secrets", "--out", secrets]);
        Assert.NotEqual(0, again);   // not overwritten

        var config = await Tool.Run("docker-compose", ["--env-file", Path.Combine(secrets, "compose.env"), "config"], Root);
        Assert.Contains("read_only: true", config);
        Assert.DoesNotContain("user: 0:", config);
        Assert.Contains("no-new-privileges:true", config);
        Assert.Contains("--requirepass", config);
        Assert.DoesNotContain(":latest", config);
        // Without the env file compose stops at the first required secret and says how to make them.
        var start = new System.Diagnostics.ProcessStartInfo("docker-compose", ["config"]) { WorkingDirectory = Root, RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment.Remove("SPRINT_UID");
        using var bare = System.Diagnostics.Process.Start(start)!;
        var error = await bare.StandardError.ReadToEndAsync();
        await bare.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.NotEqual(0, bare.ExitCode);
        Assert.Contains("sprint auth deploy-secrets", error);
    }
}
